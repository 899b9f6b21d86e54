import type { ReactNode } from 'react';
import { TableLayout, Virtualizer } from 'react-aria-components';

export const ROW_HEIGHT = 48;
const HEADING_HEIGHT = 40;
const VISIBLE_ROWS = 14;

/**
 * Long secret lists (5,000 names) render only the rows in view; React Aria
 * keeps the table semantics (aria-rowcount, row indexes) and keyboard
 * navigation across rows that are not in the DOM.
 */
export function VirtualTable({ rowCount, children }: { rowCount: number; children: ReactNode }) {
  const height = HEADING_HEIGHT + (rowCount === 0 ? 96 : Math.min(rowCount, VISIBLE_ROWS) * ROW_HEIGHT) + 2;
  return (
    <div className="virtual-table" style={{ height }}>
      <Virtualizer layout={TableLayout} layoutOptions={{ rowHeight: ROW_HEIGHT, headingHeight: HEADING_HEIGHT }}>
        {children}
      </Virtualizer>
    </div>
  );
}
