import type { ReactNode } from 'react';
import { Dialog, Heading, Modal, ModalOverlay } from 'react-aria-components';

export interface FormDialogProps {
  readonly title: string;
  /** Controlled open state; omit inside a DialogTrigger. */
  readonly isOpen?: boolean;
  readonly onOpenChange?: (isOpen: boolean) => void;
  readonly role?: 'dialog' | 'alertdialog';
  /** While a request is in flight the dialog stays put: no Escape, no click outside. */
  readonly isBusy?: boolean;
  readonly wide?: boolean;
  readonly children: (close: () => void) => ReactNode;
}

/** A modal dialog titled by its heading; Escape and a click outside close it (React Aria). */
export function FormDialog({ title, isOpen, onOpenChange, role, isBusy, wide, children }: FormDialogProps) {
  return (
    <ModalOverlay
      isOpen={isOpen}
      onOpenChange={onOpenChange}
      isDismissable={!isBusy}
      isKeyboardDismissDisabled={isBusy}
      className="modal-overlay"
    >
      <Modal className={`modal${wide ? ' modal-wide' : ''}`}>
        <Dialog className="dialog" role={role}>
          {({ close }) => (
            <>
              <Heading slot="title" className="dialog-title">
                {title}
              </Heading>
              {children(close)}
            </>
          )}
        </Dialog>
      </Modal>
    </ModalOverlay>
  );
}

export function DialogActions({ children }: { children: ReactNode }) {
  return <div className="dialog-actions">{children}</div>;
}
