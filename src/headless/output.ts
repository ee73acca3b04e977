// Where the headless face writes: stdout, until its reader goes away. A reader that hangs up (`| head`,
// a closed terminal) must not crash a run mid-experiment with the fault in: the first write error
// stops the writing and tells the run, which rolls back (nobody is watching any more). The journal
// still records everything.

export interface Output {
  write(text: string): void;
  readonly closed: boolean;
}

export function guardedOutput(stream: NodeJS.WritableStream, onClosed: (code: string) => void): Output {
  let closed = false;
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (closed) return;
    closed = true;
    onClosed(err.code ?? err.message);
  });
  return {
    write(text) {
      if (!closed) stream.write(text);
    },
    get closed() {
      return closed;
    },
  };
}
