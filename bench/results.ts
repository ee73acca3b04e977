// bench/results.json: every benchmark's figures, each with its anchor (measured in the same run) and
// the ratio, merged by benchmark so that running one refreshes its own figures and keeps the rest.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib.ts';

export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  anchor: string;
  anchorValue: number;
  /** value ÷ anchorValue */
  ratio: number;
  goal: string;
}

export const RESULTS_FILE = join(ROOT, 'bench', 'results.json');

interface ResultsFile {
  [bench: string]: { measuredAt: string; figures: BenchResult[] };
}

export function readResults(): ResultsFile {
  return existsSync(RESULTS_FILE) ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as ResultsFile) : {};
}

export function writeResults(bench: string, figures: BenchResult[]): void {
  const all = readResults();
  all[bench] = { measuredAt: new Date().toISOString(), figures };
  writeFileSync(RESULTS_FILE, JSON.stringify(all, null, 2) + '\n');
}
