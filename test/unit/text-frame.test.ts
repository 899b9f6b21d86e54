import type { EventEmitter } from 'node:events';
import * as ws from 'ws';

import { textFrame } from '../../src/graphql/text-frame';

/* ws's frame parser: the package exports it, its type definitions do not. */
interface FrameReceiver extends EventEmitter {
  write(chunk: Buffer): boolean;
}
const { Receiver } = ws as unknown as { Receiver: new (options: { isServer: boolean }) => FrameReceiver };

/* The frames subscriptions write themselves decode, with ws's own receiver, to exactly the text they were made of, at every length encoding. */

function decode(frames: Buffer[]): string[] {
  const receiver = new Receiver({ isServer: false }); // a client reads what a server sent
  const messages: string[] = [];
  receiver.on('message', (data: Buffer, isBinary: boolean) => {
    expect(isBinary).toBe(false);
    messages.push(data.toString('utf8'));
  });
  receiver.on('error', (error: Error) => {
    throw error;
  });
  for (const frame of frames) receiver.write(frame);
  return messages;
}

it.each([
  ['7-bit length', 10],
  ['the largest 7-bit length', 125],
  ['16-bit length', 126],
  ['a typical event', 300],
  ['the largest 16-bit length', 65_535],
  ['64-bit length', 70_000],
])('%s (%d bytes of body)', (_label, size) => {
  const head = Buffer.from('{"id":"é1",');
  const tail = Buffer.from(`"type":"next","payload":{"data":"${'x'.repeat(size)}"}}`);
  const text = `${head}${tail}`;
  expect(decode([textFrame(head, tail), textFrame(head, tail)])).toEqual([text, text]);
});
