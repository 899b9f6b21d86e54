import {
  FieldError,
  Input,
  Label,
  Text,
  TextArea,
  TextField as AriaTextField,
  type TextFieldProps as AriaTextFieldProps,
} from 'react-aria-components';

export interface TextFieldProps extends Omit<AriaTextFieldProps, 'className' | 'children'> {
  readonly label: string;
  readonly description?: string;
  readonly placeholder?: string;
}

export function TextField({ label, description, placeholder, ...props }: TextFieldProps) {
  return (
    <AriaTextField {...props} className="field">
      <Label className="field-label">{label}</Label>
      <Input className="input" placeholder={placeholder} />
      {description && (
        <Text slot="description" className="field-description">
          {description}
        </Text>
      )}
      <FieldError className="field-error" />
    </AriaTextField>
  );
}

/**
 * Where an admin types a secret value. Write-only like the API: masked as
 * it is typed, never prefilled, never autocompleted or spell-checked (a
 * spell-check service would receive it), and uncontrolled, so the value is
 * read once from the form on submit and never held in React state.
 */
export function ValueField({ label = 'Value', description, rows = 3 }: { label?: string; description?: string; rows?: number }) {
  return (
    <AriaTextField name="value" isRequired className="field" autoComplete="off" validationBehavior="aria">
      <Label className="field-label">{label}</Label>
      <TextArea className="input masked" rows={rows} spellCheck={false} autoCorrect="off" autoCapitalize="off" data-lpignore="true" />
      <Text slot="description" className="field-description">
        {description ?? 'Masked as you type. It is never shown again: not here, not in the API.'}
      </Text>
      <FieldError className="field-error" />
    </AriaTextField>
  );
}
