// A tiny terminal emulator: enough of VT100 to replay what Ink writes (cursor moves, erases, text)
// and read the screen back. Colours and private modes are ignored. "\n" acts as CR+LF (ONLCR).
export class MiniTerminal {
  private screen: string[][];
  private row = 0;
  private col = 0;
  constructor(
    public readonly columns: number,
    public readonly rows: number,
  ) {
    this.screen = Array.from({ length: rows }, () => Array<string>(columns).fill(' '));
  }

  write(data: string): void {
    let i = 0;
    while (i < data.length) {
      const ch = data[i];
      if (ch === '\u001b' && data[i + 1] === '[') {
        const m = /^\u001b\[([?0-9;]*)([A-Za-z])/.exec(data.slice(i));
        if (!m) {
          i++;
          continue;
        }
        this.csi(m[1], m[2]);
        i += m[0].length;
        continue;
      }
      if (ch === '\n') {
        this.lineFeed();
        this.col = 0;
        i++;
        continue;
      }
      if (ch === '\r') {
        this.col = 0;
        i++;
        continue;
      }
      const cp = data.codePointAt(i)!;
      const char = String.fromCodePoint(cp);
      if (this.col >= this.columns) {
        this.lineFeed();
        this.col = 0;
      }
      this.screen[this.row][this.col++] = char;
      i += char.length;
    }
  }

  private lineFeed(): void {
    if (this.row === this.rows - 1) {
      this.screen.shift();
      this.screen.push(Array<string>(this.columns).fill(' '));
    } else {
      this.row++;
    }
  }

  private csi(params: string, final: string): void {
    if (params.startsWith('?')) return;
    const n = params === '' ? 1 : Math.max(1, Number(params.split(';')[0]) || 1);
    switch (final) {
      case 'A':
        this.row = Math.max(0, this.row - n);
        break;
      case 'B':
        this.row = Math.min(this.rows - 1, this.row + n);
        break;
      case 'E':
        this.row = Math.min(this.rows - 1, this.row + n);
        this.col = 0;
        break;
      case 'G':
        this.col = Math.min(this.columns - 1, n - 1);
        break;
      case 'H':
        this.row = 0;
        this.col = 0;
        break;
      case 'K': {
        const mode = Number(params || 0);
        if (mode === 2) this.screen[this.row].fill(' ');
        else if (mode === 0) for (let c = this.col; c < this.columns; c++) this.screen[this.row][c] = ' ';
        break;
      }
      case 'J':
        if (params === '2' || params === '3') this.screen.forEach((r) => r.fill(' '));
        break;
      default:
        break; // SGR and the rest
    }
  }

  text(): string {
    const lines = this.screen.map((r) => r.join('').replace(/\s+$/, ''));
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.join('\n');
  }
}
