/** The two questions the studio asks of a run's status: does a run exist, and does it hold the engine now. */
import type { RunStatus } from './run-slice.ts';

/** Whether a run holds the engine (starting, stepping, paused or stopping). */
export const runActive = (status: RunStatus): boolean => status === 'starting' || status === 'running' || status === 'paused' || status === 'stopping';
/** A run holds the engine now (starting, stepping or stopping; a paused run does not). */
export const runBusy = (status: RunStatus): boolean => status === 'starting' || status === 'running' || status === 'stopping';
