// Keys as Ink hands them to the control room, for the key map's and the key reducer's tests.
import type { Press } from '../../components/key-reducer.ts';
import type { KeyFlags } from '../../components/keymap.ts';

const NO_FLAGS: KeyFlags = {
  ctrl: false,
  meta: false,
  shift: false,
  return: false,
  escape: false,
  tab: false,
  backspace: false,
  delete: false,
};

export const flags = (over: Partial<KeyFlags> = {}): KeyFlags => ({ ...NO_FLAGS, ...over });

/** Named keys come with an empty input; Esc comes with meta set. */
export const KEY = {
  enter: { input: '', key: flags({ return: true }) },
  esc: { input: '', key: flags({ escape: true, meta: true }) },
  backspace: { input: '', key: flags({ backspace: true }) },
  delete: { input: '', key: flags({ delete: true }) },
  tab: { input: '', key: flags({ tab: true }) },
  up: { input: '', key: flags() },
  left: { input: '', key: flags({ leftArrow: true }) },
  right: { input: '', key: flags({ rightArrow: true }) },
  ctrlC: { input: 'c', key: flags({ ctrl: true }) },
  ctrlA: { input: 'a', key: flags({ ctrl: true }) },
  metaX: { input: 'x', key: flags({ meta: true }) },
} satisfies Record<string, Press>;

/** A printable key, or a chunk of them (a paste) before it is split. */
export const ch = (input: string): Press => ({ input, key: flags({ shift: /[A-Z]/.test(input) }) });
