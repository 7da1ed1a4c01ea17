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
