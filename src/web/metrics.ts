/**
 * A tiny Prometheus registry (text exposition format 0.0.4). Every series exists from the
 * moment its metric is declared: label values come from an allow-list fixed at declaration,
 * so request data can never create a series, and memory is bounded by the declarations.
 * Values live in one Float64Array per metric, allocated at declaration.
 */
import { ConfigError } from '../errors.js';
import { integerOption } from '../util/options.js';

/** Series one metric may have by default, and at most: each is a Float64 and a line of every scrape. */
export const DEFAULT_MAX_SERIES_PER_METRIC = 1000;
export const MAX_SERIES_PER_METRIC = 100_000;

/** The Content-Type of `render()`'s output. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label name → the only values it may take. */
export type LabelValues = Readonly<Record<string, readonly string[]>>;
/** One value per declared label. */
export type Labels = Readonly<Record<string, string>>;

export interface CounterDeclaration {
  /** Without the registry prefix (`logins_total` becomes `ringlet_logins_total`). */
  name: string;
  help: string;
  labels?: LabelValues;
  /**
   * Read at render time, once per series (called with that series' labels); such a metric
   * cannot be `inc`/`set`. For a counter, the callback must return a never-decreasing total
   * (e.g. a store's own `created` count). A throw or a non-number reads as NaN.
   */
  collect?: (labels: Labels) => number;
}

export type GaugeDeclaration = CounterDeclaration;

export interface MetricsRegistryOptions {
  /** Prepended to every name (default `ringlet_`). */
  prefix?: string;
  /** Refuse declarations whose label combinations exceed this (1 to {@link MAX_SERIES_PER_METRIC}; default {@link DEFAULT_MAX_SERIES_PER_METRIC}). */
  maxSeriesPerMetric?: number;
}

interface Metric {
  type: 'counter' | 'gauge';
  fullName: string;
  help: string;
  labelNames: readonly string[];
  /** Per label: value → index. Null-prototype-free Maps: lookups are keyed by caller data. */
  valueIndex: ReadonlyArray<ReadonlyMap<string, number>>;
  strides: readonly number[];
  /** Per series: the rendered `{a="x",b="y"}` ('' without labels) and its labels. */
  seriesText: readonly string[];
  seriesLabels: readonly Labels[];
  values: Float64Array;
  collect: ((labels: Labels) => number) | undefined;
}

const metricNameRegExp = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelNameRegExp = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const EMPTY_LABELS: Labels = Object.freeze({});

function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (ch) => (ch === '\n' ? '\\n' : `\\${ch}`));
}

function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (ch) => (ch === '\n' ? '\\n' : '\\\\'));
}

/** Prometheus float text: integers plainly, and `NaN`, `+Inf`, `-Inf`. */
export function formatSampleValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/**
 * A registry of counters and gauges.
 *
 * @example
 * const metrics = new MetricsRegistry()
 *   .counter({ name: 'logins_total', help: 'Login attempts by result.', labels: { result: ['success', 'failure', 'throttled', 'busy'] } })
 *   .gauge({ name: 'sessions_active', help: 'Live sessions.', collect: () => store.size });
 * metrics.inc('logins_total', { result: 'success' });
 * res.end(metrics.render());
 */
export class MetricsRegistry {
  private readonly prefix: string;
  private readonly maxSeries: number;
  private readonly metrics = new Map<string, Metric>();

  constructor(options: MetricsRegistryOptions = {}) {
    const prefix = options.prefix ?? 'ringlet_';
    if (prefix !== '' && !metricNameRegExp.test(prefix)) throw new ConfigError('prefix', 'must match [a-zA-Z_:][a-zA-Z0-9_:]* or be empty');
    const max = integerOption(options.maxSeriesPerMetric ?? DEFAULT_MAX_SERIES_PER_METRIC, 'maxSeriesPerMetric', 1, MAX_SERIES_PER_METRIC);
    this.prefix = prefix;
    this.maxSeries = max;
  }

  /**
   * Declare a counter (only ever goes up): counted with `inc`, or read from `collect` at
   * render time. Throws ConfigError for a bad declaration.
   */
  counter(declaration: CounterDeclaration): this {
    this.declare('counter', declaration);
    return this;
  }

  /** Declare a gauge, set by `set`/`inc` or read from `collect` at render time. */
  gauge(declaration: GaugeDeclaration): this {
    this.declare('gauge', declaration);
    return this;
  }

  /**
   * Add `by` (default 1) to a series. Counters take only finite `by >= 0`. Throws TypeError
   * for an undeclared metric, a missing or undeclared label, or a value outside the
   * allow-list: a programming error, never a new series.
   */
  inc(name: string, labels?: Labels, by = 1): void {
    const metric = this.get(name);
    if (!Number.isFinite(by) || (metric.type === 'counter' && by < 0)) {
      throw new TypeError(`metric ${name}: increment must be a finite number${metric.type === 'counter' ? ' >= 0' : ''}`);
    }
    if (metric.collect !== undefined) throw new TypeError(`metric ${name}: is collected, not incremented`);
    const i = this.seriesIndex(metric, name, labels);
    metric.values[i] = (metric.values[i] ?? 0) + by;
  }

  /** Set a gauge series to `value`. */
  set(name: string, value: number, labels?: Labels): void {
    const metric = this.get(name);
    if (metric.type !== 'gauge' || metric.collect !== undefined) throw new TypeError(`metric ${name}: only plain gauges can be set`);
    if (typeof value !== 'number') throw new TypeError(`metric ${name}: value must be a number`);
    metric.values[this.seriesIndex(metric, name, labels)] = value;
  }

  /** The current value of a series (collected gauges are read now). */
  value(name: string, labels?: Labels): number {
    const metric = this.get(name);
    const i = this.seriesIndex(metric, name, labels);
    return metric.collect === undefined ? (metric.values[i] ?? 0) : this.read(metric, i);
  }

  /** The whole registry in text exposition format 0.0.4 (serve with `METRICS_CONTENT_TYPE`). */
  render(): string {
    let out = '';
    for (const metric of this.metrics.values()) {
      out += `# HELP ${metric.fullName} ${escapeHelp(metric.help)}\n# TYPE ${metric.fullName} ${metric.type}\n`;
      for (let i = 0; i < metric.seriesText.length; i++) {
        const v = metric.collect === undefined ? (metric.values[i] ?? 0) : this.read(metric, i);
        out += `${metric.fullName}${metric.seriesText[i] ?? ''} ${formatSampleValue(v)}\n`;
      }
    }
    return out;
  }

  private read(metric: Metric, series: number): number {
    try {
      const v = metric.collect?.(metric.seriesLabels[series] ?? EMPTY_LABELS);
      return typeof v === 'number' ? v : NaN;
    } catch {
      return NaN;
    }
  }

  private get(name: string): Metric {
    const metric = this.metrics.get(name);
    if (metric === undefined) throw new TypeError(`metric ${name}: not declared`);
    return metric;
  }

  private seriesIndex(metric: Metric, name: string, labels: Labels | undefined): number {
    const given = labels ?? EMPTY_LABELS;
    let index = 0;
    let seen = 0;
    for (let l = 0; l < metric.labelNames.length; l++) {
      const labelName = metric.labelNames[l] as string;
      const value = Object.hasOwn(given, labelName) ? given[labelName] : undefined;
      // The value is not echoed: it may come from a request.
      if (typeof value !== 'string') throw new TypeError(`metric ${name}: label ${labelName} is required`);
      const vi = metric.valueIndex[l]?.get(value);
      if (vi === undefined) throw new TypeError(`metric ${name}: label ${labelName} has a value outside its allow-list`);
      index += vi * (metric.strides[l] ?? 0);
      seen++;
    }
    let keys = 0;
    for (const _ in given) keys++;
    if (keys !== seen) throw new TypeError(`metric ${name}: undeclared label given`);
    return index;
  }

  private declare(type: 'counter' | 'gauge', d: CounterDeclaration): void {
    const field = `metrics.${String(d.name)}`;
    const collect = d.collect;
    if (collect !== undefined && typeof collect !== 'function') throw new ConfigError(`${field}.collect`, 'must be a function');
    if (typeof d.name !== 'string' || !metricNameRegExp.test(d.name)) throw new ConfigError(field, 'name must match [a-zA-Z_:][a-zA-Z0-9_:]*');
    if (this.metrics.has(d.name)) throw new ConfigError(field, 'declared twice');
    if (typeof d.help !== 'string' || d.help === '') throw new ConfigError(`${field}.help`, 'must be a non-empty string');
    const labelNames = Object.keys(d.labels ?? {});
    const valueIndex: Map<string, number>[] = [];
    const valueLists: (readonly string[])[] = [];
    let seriesCount = 1;
    for (const labelName of labelNames) {
      const lf = `${field}.labels.${labelName}`;
      if (!labelNameRegExp.test(labelName) || labelName.startsWith('__')) throw new ConfigError(lf, 'label name must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __');
      const values = d.labels?.[labelName];
      if (!Array.isArray(values) || values.length === 0) throw new ConfigError(lf, 'must be a non-empty array of allowed values');
      const index = new Map<string, number>();
      for (const v of values as readonly unknown[]) {
        if (typeof v !== 'string') throw new ConfigError(lf, 'values must be strings');
        if (index.has(v)) throw new ConfigError(lf, 'values must be distinct');
        index.set(v, index.size);
      }
      valueIndex.push(index);
      valueLists.push(values as readonly string[]);
      seriesCount *= values.length;
      if (seriesCount > this.maxSeries) throw new ConfigError(`${field}.labels`, `label combinations must not exceed ${this.maxSeries} series`);
    }
    // Mixed-radix series index: the last label varies fastest, so render order is stable.
    const strides = new Array<number>(labelNames.length);
    let stride = 1;
    for (let l = labelNames.length - 1; l >= 0; l--) {
      strides[l] = stride;
      stride *= valueLists[l]?.length ?? 1;
    }
    const seriesText: string[] = [];
    const seriesLabels: Labels[] = [];
    for (let s = 0; s < seriesCount; s++) {
      const labels: Record<string, string> = Object.create(null) as Record<string, string>;
      const parts: string[] = [];
      for (let l = 0; l < labelNames.length; l++) {
        const value = valueLists[l]?.[Math.floor(s / (strides[l] ?? 1)) % (valueLists[l]?.length ?? 1)] ?? '';
        const labelName = labelNames[l] as string;
        labels[labelName] = value;
        parts.push(`${labelName}="${escapeLabelValue(value)}"`);
      }
      seriesText.push(parts.length === 0 ? '' : `{${parts.join(',')}}`);
      seriesLabels.push(Object.freeze(labels));
    }
    this.metrics.set(d.name, {
      type,
      fullName: this.prefix + d.name,
      help: d.help,
      labelNames,
      valueIndex,
      strides,
      seriesText,
      seriesLabels,
      values: new Float64Array(seriesCount),
      collect,
    });
  }
}
