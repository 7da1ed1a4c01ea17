// Small bar charts drawn on the server as SVG: no script, no library, readable by a screen reader
// through the title and the table each chart sits beside.

export type Bar = { readonly label: string; readonly value: number };

export const BarChart = (p: { title: string; bars: readonly Bar[]; width?: number; height?: number; every?: number }) => {
  const width = p.width ?? 420;
  const height = p.height ?? 140;
  const top = 14;
  const bottom = 20;
  const left = 30;
  const max = Math.max(1, ...p.bars.map((b) => b.value));
  const step = (width - left) / Math.max(1, p.bars.length);
  const every = p.every ?? Math.max(1, Math.ceil(p.bars.length / 7));
  const y = (v: number) => top + (height - top - bottom) * (1 - v / max);
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${p.title}: ${p.bars.map((b) => `${b.label} ${b.value}`).join(', ')}`}>
      <title>{p.title}</title>
      <line class="axis" x1={left} y1={height - bottom} x2={width} y2={height - bottom} />
      <text x={0} y={top + 4}>
        {String(max)}
      </text>
      <text x={0} y={height - bottom}>
        0
      </text>
      {p.bars.map((b, i) => (
        <g>
          <rect class="bar" x={left + i * step + 1} y={y(b.value)} width={Math.max(1, step - 2)} height={height - bottom - y(b.value)}>
            <title>{`${b.label}: ${b.value}`}</title>
          </rect>
          {i % every === 0 ? (
            <text x={left + i * step} y={height - 6}>
              {b.label}
            </text>
          ) : null}
        </g>
      ))}
    </svg>
  );
};

/** Bars across, one per row, the label beside each: for names too long to sit under a column. */
export const HBarChart = (p: { title: string; bars: readonly Bar[]; unit?: string; width?: number }) => {
  const width = p.width ?? 480;
  const row = 18;
  const left = 150;
  const right = 60;
  const height = p.bars.length * row + 6;
  const max = Math.max(1, ...p.bars.map((b) => b.value));
  const unit = p.unit ? ` ${p.unit}` : '';
  return (
    <svg class="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${p.title}: ${p.bars.map((b) => `${b.label} ${b.value}${unit}`).join(', ')}`}>
      <title>{p.title}</title>
      {p.bars.map((b, i) => (
        <g>
          <text x={left - 4} y={i * row + 14} text-anchor="end">
            {b.label.length > 24 ? `${b.label.slice(0, 23)}…` : b.label}
          </text>
          <rect class="bar" x={left} y={i * row + 3} width={Math.max(1, ((width - left - right) * Math.max(0, b.value)) / max)} height={row - 5}>
            <title>{`${b.label}: ${b.value}${unit}`}</title>
          </rect>
          <text x={left + ((width - left - right) * Math.max(0, b.value)) / max + 4} y={i * row + 14}>
            {String(b.value)}
          </text>
        </g>
      ))}
    </svg>
  );
};

export type Series = { readonly name: string; readonly points: readonly number[] };

/** Lines over a shared x axis (days, months), one per series, each named in a legend. */
export const LineChart = (p: { title: string; labels: readonly string[]; series: readonly Series[]; width?: number; height?: number }) => {
  const width = p.width ?? 480;
  const height = p.height ?? 180;
  const top = 14;
  const bottom = 20;
  const left = 34;
  const legend = 16 * p.series.length;
  const plot = height - top - bottom;
  const max = Math.max(1, ...p.series.flatMap((s) => s.points));
  const step = (width - left) / Math.max(1, p.labels.length - 1);
  const x = (i: number) => left + i * step;
  const y = (v: number) => top + plot * (1 - v / max);
  const every = Math.max(1, Math.ceil(p.labels.length / 6));
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${width} ${height + legend}`}
      role="img"
      aria-label={`${p.title}, ${p.series.map((s) => s.name).join(', ')}; the numbers are in the table`}
    >
      <title>{p.title}</title>
      <line class="axis" x1={left} y1={top + plot} x2={width} y2={top + plot} />
      <text x={0} y={top + 4}>
        {String(max)}
      </text>
      <text x={0} y={top + plot}>
        0
      </text>
      {p.labels.map((l, i) =>
        i % every === 0 ? (
          <text x={x(i)} y={height - 6}>
            {l}
          </text>
        ) : null,
      )}
      {p.series.map((s, k) => (
        <g class={`series s${k % 6}`}>
          <polyline fill="none" points={s.points.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')} />
          <rect x={left} y={height + 16 * k + 2} width={12} height={10} />
          <text x={left + 16} y={height + 16 * k + 11}>
            {s.name}
          </text>
        </g>
      ))}
    </svg>
  );
};

export type Cell = { readonly row: string; readonly column: string; readonly value: number; readonly note?: string };

/** A grid of shaded cells (rows by columns), darker for larger values from 0 to 1; each cell titled with its number. */
export const Heatmap = (p: { title: string; rows: readonly string[]; columns: readonly string[]; cells: readonly Cell[]; format?: (v: number) => string }) => {
  const cw = 34;
  const ch = 20;
  const left = 70;
  const top = 18;
  const fmt = p.format ?? ((v: number) => String(v));
  const at = new Map(p.cells.map((c) => [`${c.row}|${c.column}`, c]));
  const width = left + cw * p.columns.length + 4;
  const height = top + ch * p.rows.length + 4;
  return (
    <svg class="chart heatmap" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${p.title}; the numbers are in the table`}>
      <title>{p.title}</title>
      {p.columns.map((c, j) => (
        <text x={left + j * cw + cw / 2} y={12} text-anchor="middle">
          {c}
        </text>
      ))}
      {p.rows.map((r, i) => (
        <g>
          <text x={left - 4} y={top + i * ch + 14} text-anchor="end">
            {r}
          </text>
          {p.columns.map((c, j) => {
            const cell = at.get(`${r}|${c}`);
            return cell ? (
              <g>
                <rect
                  class="cell"
                  x={left + j * cw}
                  y={top + i * ch}
                  width={cw - 2}
                  height={ch - 2}
                  fill-opacity={(0.08 + 0.92 * Math.min(1, Math.max(0, cell.value))).toFixed(2)}
                >
                  <title>{`${r}, ${c}: ${fmt(cell.value)}${cell.note ? ` (${cell.note})` : ''}`}</title>
                </rect>
                <text class={cell.value > 0.5 ? 'on-dark' : undefined} x={left + j * cw + cw / 2 - 1} y={top + i * ch + 13} text-anchor="middle">
                  {fmt(cell.value)}
                </text>
              </g>
            ) : null;
          })}
        </g>
      ))}
    </svg>
  );
};

export type FunnelStep = { readonly label: string; readonly value: number };

/** A funnel: each step a centred bar (the widest step full width), with its share of the first step beside it. */
export const Funnel = (p: { title: string; steps: readonly FunnelStep[]; width?: number }) => {
  const width = p.width ?? 480;
  const row = 22;
  const left = 110;
  const right = 90;
  const first = Math.max(1, p.steps[0]?.value ?? 0);
  // a later step can outnumber the first (orders without a session of the channel's own)
  const widest = Math.max(1, ...p.steps.map((s) => s.value));
  const w = (v: number) => Math.max(1, ((width - left - right) * Math.max(0, v)) / widest);
  const pct = (v: number) => `${Math.round((1000 * v) / first) / 10}%`;
  return (
    <svg
      class="chart"
      viewBox={`0 0 ${width} ${p.steps.length * row + 4}`}
      role="img"
      aria-label={`${p.title}: ${p.steps.map((s) => `${s.label} ${s.value}`).join(', ')}`}
    >
      <title>{p.title}</title>
      {p.steps.map((s, i) => (
        <g>
          <text x={left - 4} y={i * row + 15} text-anchor="end">
            {s.label}
          </text>
          <rect class="bar" x={left + (width - left - right - w(s.value)) / 2} y={i * row + 3} width={w(s.value)} height={row - 5}>
            <title>{`${s.label}: ${s.value} (${pct(s.value)} of ${p.steps[0]?.label ?? ''})`}</title>
          </rect>
          <text x={width - right + 4} y={i * row + 15}>
            {`${s.value} · ${pct(s.value)}`}
          </text>
        </g>
      ))}
    </svg>
  );
};
