// What a terminal shows for some output: enough of one for cli-progress's bar and the lines around
// it. Carriage return, line feed, cursor to a column (CSI n G), clear to the end of the line or the
// whole line (CSI 0 K, CSI 2 K), save and restore the cursor (ESC 7, ESC 8); other control
// sequences (cursor shown or hidden, line wrapping) change nothing shown. Lines are as long as
// their text (no wrapping) and the screen never scrolls.

// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal control sequences are what this reads
const TOKEN = /\u001b\[(\??)(\d*)([A-Za-z])|\u001b([78])|\r|\n|[^\u001b\r\n]+/g;

/** The lines on the screen once `output` is written to a fresh terminal. */
export const screenOf = (output: string): string[] => {
  const lines = [''];
  let row = 0;
  let col = 0;
  let saved = { row: 0, col: 0 };
  for (const m of output.matchAll(TOKEN)) {
    const [text, privateMode, n, csi, esc] = m;
    if (text === '\r') col = 0;
    else if (text === '\n') {
      row++;
      col = 0;
      if (row === lines.length) lines.push('');
    } else if (esc === '7') saved = { row, col };
    else if (esc === '8') ({ row, col } = saved);
    else if (csi !== undefined) {
      if (privateMode) continue;
      if (csi === 'G') col = Number(n || 1) - 1;
      else if (csi === 'K' && (n === '' || n === '0')) lines[row] = lines[row]!.slice(0, col);
      else if (csi === 'K' && n === '2') lines[row] = '';
    } else {
      const line = lines[row]!.padEnd(col);
      lines[row] = line.slice(0, col) + text + line.slice(col + text.length);
      col += text.length;
    }
  }
  return lines;
};
