import t from 'tap';
import { barChartSvg, escapeXml, lineChartSvg, niceCeiling } from '../../bench/report/svg.js';
import { describeMachine, machine } from '../../bench/report/machine.js';
import { floodUserCount } from '../../bench/load/users-fixture.js';
import { pinned } from '../../bench/load/run.js';

t.test('nice axis ceilings', async (t) => {
  const cases: Array<[number, number]> = [[0, 1], [-3, 1], [0.7, 1], [1, 1], [1.1, 2], [2.2, 2.5], [3, 5], [7, 10], [131.6, 200], [480, 500], [1001, 2000]];
  for (const [value, want] of cases) t.equal(niceCeiling(value), want, `${value} → ${want}`);
});

t.test('XML escaping', async (t) => {
  t.equal(escapeXml(`<a href="x">&'`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
});

t.test('line chart: one path per series per panel, marks, escaped titles', async (t) => {
  const svg = lineChartSvg({
    title: 'RSS <over> time', xLabel: 's', yLabel: 'MiB', columns: 2,
    panels: [
      { title: 'a & b', series: [{ name: 'ringlet', color: '#00f', points: [[0, 50], [1, 60], [2, 55]] }, { name: 'bare', color: '#888', dashed: true, points: [[0, 40], [2, 45]] }], marks: [{ y: 80, label: 'budget' }] },
      { title: 'empty', series: [{ name: 'ringlet', color: '#00f', points: [] }] },
      { title: 'third', series: [{ name: 'ringlet', color: '#00f', points: [[0, 1]] }] },
    ],
  });
  t.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="720" height="450"/, 'two columns, two rows, minimum width');
  t.equal((svg.match(/<path /g) ?? []).length, 3, 'empty series draw nothing');
  t.equal((svg.match(/stroke-dasharray="4 3"/g) ?? []).length, 2, 'dashed in legend and panel');
  t.match(svg, /RSS &lt;over&gt; time/);
  t.match(svg, /a &amp; b/);
  t.match(svg, />budget</);
  t.notMatch(svg, /NaN|undefined/);
  t.ok(svg.endsWith('</svg>\n'));
});

t.test('bar chart: met is green, missed is red, no target is neutral', async (t) => {
  const svg = barChartSvg({ title: 'ratios', max: 1, valueSuffix: '×', bars: [{ label: 'ram', value: 0.9, target: 0.85 }, { label: 'cookie', value: 0.5, target: 0.75 }, { label: 'info', value: 0.3 }] });
  const fills = [...svg.matchAll(/<rect x="230" y="\d+" width="[\d.]+" height="18" fill="(#[0-9a-f]+)"/g)].map((m) => m[1]);
  t.same(fills, ['#3a9a4a', '#c4463a', '#4a78b5']);
  t.match(svg, />0.90×</);
  t.equal((svg.match(/stroke="#000"/g) ?? []).length, 2, 'one target tick per bar with a target');
});

t.test('machine description', async (t) => {
  const m = machine();
  t.ok(m.cores >= 1 && m.memoryBytes > 0 && m.node === process.version && m.cpuModel.length > 0);
  t.match(describeMachine(m), new RegExp(`Node ${process.version.replace(/\./g, '\\.')}.*${m.cores} cores`));
});

t.test('flood users: enough to fill the store past the per-user caps, within the users-file limit', async (t) => {
  const cases: Array<[number, number, number]> = [[1, 1, 2], [128, 4, 64], [256, 8, 64], [1024, 8, 256], [4096, 8, 998], [16384, 16, 998]];
  for (const [capacity, maxSessionsPerUser, want] of cases) t.equal(floodUserCount({ capacity, maxSessionsPerUser }), want, `${capacity}/${maxSessionsPerUser}`);
});

t.test('pinning wraps the command only when a core is asked for', async (t) => {
  t.same(pinned(undefined, 'node', ['x.js']), ['node', ['x.js']]);
  const [command, args] = pinned(1, 'node', ['x.js']);
  if (command === 'taskset') t.same(args, ['-c', '1', 'node', 'x.js']);
  else t.same([command, args], ['node', ['x.js']], 'no taskset here: unpinned');
});
