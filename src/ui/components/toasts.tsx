import {
  Button,
  Text,
  UNSTABLE_Toast as Toast,
  UNSTABLE_ToastContent as ToastContent,
  UNSTABLE_ToastQueue as ToastQueue,
  UNSTABLE_ToastRegion as ToastRegion,
} from 'react-aria-components';

export interface ToastMessage {
  readonly title: string;
  readonly description?: string;
  readonly action?: { readonly label: string; readonly onAction: () => void };
}

const queue = new ToastQueue<ToastMessage>({ maxVisibleToasts: 4 });

/** Shows a toast; with an action (Undo) it stays longer. Timers pause while hovered or focused. */
export function toast(message: ToastMessage): string {
  return queue.add(message, { timeout: message.action ? 12_000 : 5_000 });
}

export function Toasts() {
  return (
    <ToastRegion queue={queue} className="toast-region">
      {({ toast: item }) => (
        <Toast toast={item} className="toast">
          <ToastContent className="toast-content">
            <Text slot="title" className="toast-title">
              {item.content.title}
            </Text>
            {item.content.description && (
              <Text slot="description" className="toast-description">
                {item.content.description}
              </Text>
            )}
          </ToastContent>
          {item.content.action && (
            <Button
              className="button button-secondary toast-action"
              onPress={() => {
                queue.close(item.key);
                item.content.action!.onAction();
              }}
            >
              {item.content.action.label}
            </Button>
          )}
          <Button slot="close" className="button button-quiet toast-close" aria-label="Dismiss">
            ×
          </Button>
        </Toast>
      )}
    </ToastRegion>
  );
}
