import type { Key } from 'react-aria-components';
import { Button, ComboBox, FieldError, Input, Label, ListBox, ListBoxItem, Popover, Text } from 'react-aria-components';

export interface PickerItem {
  readonly id: string;
  readonly name: string;
}

/** A combobox over named items (type to filter): its accessible name is exactly its label. */
export function Picker({
  label,
  items,
  selectedKey,
  onSelectionChange,
  isRequired,
  isDisabled,
  description,
  placeholder,
}: {
  label: string;
  items: readonly PickerItem[];
  selectedKey: string | null;
  onSelectionChange: (key: string | null) => void;
  isRequired?: boolean;
  isDisabled?: boolean;
  description?: string;
  placeholder?: string;
}) {
  return (
    <ComboBox
      className="field"
      defaultItems={items}
      selectedKey={selectedKey}
      onSelectionChange={(key: Key | null) => onSelectionChange(key === null ? null : String(key))}
      isRequired={isRequired}
      isDisabled={isDisabled}
      menuTrigger="focus"
    >
      <Label className="field-label">{label}</Label>
      <div className="combo">
        <Input className="input" placeholder={placeholder} />
        <Button className="combo-button" aria-hidden="true" excludeFromTabOrder>
          ▾
        </Button>
      </div>
      {description && (
        <Text slot="description" className="field-description">
          {description}
        </Text>
      )}
      <FieldError className="field-error" />
      <Popover className="popover">
        <ListBox className="listbox">
          {(item: PickerItem) => (
            <ListBoxItem id={item.id} textValue={item.name} className="listbox-item">
              {item.name}
            </ListBoxItem>
          )}
        </ListBox>
      </Popover>
    </ComboBox>
  );
}
