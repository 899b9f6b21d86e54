import { Input, Label, SearchField } from 'react-aria-components';

/** Filters a list by name as you type; Escape clears it. */
export function SearchBox({ label, value, onChange }: { label: string; value: string; onChange: (value: string) => void }) {
  return (
    <SearchField value={value} onChange={onChange} className="search" aria-label={label}>
      <Label className="visually-hidden">{label}</Label>
      <Input className="input search-input" placeholder={`${label}…`} />
    </SearchField>
  );
}

/** Case-insensitive substring match on a name. */
export function matchesSearch(name: string, query: string): boolean {
  const needle = query.trim().toLowerCase();
  return needle === '' || name.toLowerCase().includes(needle);
}
