/** The machine a result was measured on: CPU model, cores, memory, Node (Linux /proc when present). */
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

export interface Machine {
  date: string;
  node: string;
  v8: string;
  platform: string;
  arch: string;
  cpuModel: string;
  cores: number;
  memoryBytes: number;
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'latin1'));
    if (m?.[1]) return m[1].trim();
  } catch {
    // Not Linux: os.cpus() below.
  }
  return cpus()[0]?.model ?? 'unknown';
}

export function machine(): Machine {
  return {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    platform: process.platform,
    arch: process.arch,
    cpuModel: cpuModel(),
    cores: cpus().length,
    memoryBytes: totalmem(),
  };
}

export function describeMachine(m: Machine): string {
  return `${m.date.slice(0, 10)}, Node ${m.node} (V8 ${m.v8}), ${m.platform}/${m.arch}, ${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM`;
}

/** The first lines of a bench's markdown report: its title, the machine, how it was run. */
export function reportHead(title: string, m: Machine, setupLabel: 'Load' | 'Setup', setup: string): string[] {
  return [`### ${title}`, '', `${describeMachine(m)}.`, `${setupLabel}: ${setup}.`, ''];
}
