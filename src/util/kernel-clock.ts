/**
 * The kernel's own clock: a boot id that changes on every reboot and the uptime since that
 * boot. Together they time things across process restarts without trusting the wall clock
 * (routers boot "in 1970" and jump when NTP syncs): two readings with the same boot id are
 * comparable by uptime; a different boot id means a reboot happened in between.
 */
import { readFileSync } from 'node:fs';

/** Longest boot id kept (Linux's is a 36-character UUID). */
export const BOOT_ID_CHARS = 36;

export interface KernelClock {
  /** The current boot's id, or undefined where the kernel does not tell. */
  bootId(): string | undefined;
  /** Milliseconds since boot, or undefined where the kernel does not tell. */
  uptimeMs(): number | undefined;
}

export const linuxKernelClock: KernelClock = {
  bootId: () => {
    try {
      return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim().slice(0, BOOT_ID_CHARS);
    } catch {
      return undefined;
    }
  },
  uptimeMs: () => {
    try {
      return Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1000;
    } catch {
      return undefined;
    }
  },
};
