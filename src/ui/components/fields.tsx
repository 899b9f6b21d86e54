import { useId, type Ref } from 'react';
import { FieldError, Input, Label, Text, TextField as AriaTextField, type TextFieldProps as AriaTextFieldProps } from 'react-aria-components';

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
 * Where an admin types a secret value (or a token, or pasted .env text).
 * Write-only like the API: masked as it is typed, never prefilled, never
 * autocompleted or spell-checked (a spell-check service would receive it).
 * Deliberately a plain, uncontrolled element rather than React Aria's
 * TextField: a controlled field has React mirror what is typed into the
 * DOM (the value attribute, a textarea's text), where it would sit in the
 * page's HTML. Uncontrolled, it lives only in the element until the form
 * reads it once on submit.
 */
export function SecretInput({
  label,
  name,
  description,
  multiline = true,
  rows = 3,
  autoFocus,
  inputRef,
  className = '',
}: {
  label: string;
  name: string;
  description?: string;
  multiline?: boolean;
  rows?: number;
  autoFocus?: boolean;
  inputRef?: Ref<HTMLTextAreaElement & HTMLInputElement>;
  className?: string;
}) {
  const id = useId();
  const common = {
    id,
    name,
    ref: inputRef,
    required: true,
    autoFocus,
    autoComplete: 'off',
    spellCheck: false,
    autoCorrect: 'off',
    autoCapitalize: 'off',
    'aria-describedby': description ? `${id}-description` : undefined,
    'data-lpignore': 'true',
  } as const;
  return (
    <div className="field">
      <label htmlFor={id} className="field-label">
        {label}
      </label>
      {multiline ? (
        <textarea {...common} rows={rows} className={`input masked ${className}`} />
      ) : (
        <input {...common} type="password" className={`input ${className}`} />
      )}
      {description && (
        <span id={`${id}-description`} className="field-description">
          {description}
        </span>
      )}
    </div>
  );
}

export function ValueField({ description }: { description?: string }) {
  return <SecretInput label="Value" name="value" description={description ?? 'Masked as you type. It is never shown again: not here, not in the API.'} />;
}
