/** Plain-text tables for the CLI: columns padded by display width, so colored cells line up. */

export interface TableOptions {
  /** Column indexes aligned to the right (numbers). */
  readonly right?: readonly number[]
  /** Wraps header cells, e.g. in bold. */
  readonly headerStyle?: (s: string) => string
  readonly indent?: string
}

const width = (s: string) => Bun.stringWidth(s)

/** Rows of cells to lines; the last column is not padded, so long text (fixes, reasons) is not followed by spaces. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const all = [header, ...rows]
  const widths = header.map((_, i) => Math.max(...all.map((r) => width(r[i] ?? ''))))
  const right = new Set(options.right ?? [])
  const line = (cells: readonly string[], style: (s: string) => string = (s) => s) =>
    (options.indent ?? '') +
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(Math.max(0, (widths[i] ?? 0) - width(cell)))
        if (i === cells.length - 1 && !right.has(i)) return style(cell)
        return right.has(i) ? pad + style(cell) : style(cell) + pad
      })
      .join('  ')
  return [line(header, options.headerStyle), ...rows.map((r) => line(r))].join('\n')
}
