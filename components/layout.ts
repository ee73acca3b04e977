// How the control room fits the terminal: two columns from 100 columns wide, one below, and a live
// region that always stays shorter than the terminal (Ink redraws the whole screen, flickering, once
// its output reaches the terminal's height). Every pane has a fixed number of lines except the
// timeline (and the preflight list), which take what is left.
import { useEffect, useState } from 'react';
import { useStdout } from 'ink';

const TWO_COLUMN_MIN_COLUMNS = 100;
const FALLBACK_COLUMNS = 80;
const FALLBACK_ROWS = 24;
/** wider than this and the panes only get emptier */
const MAX_WIDTH = 160;

const HEADER_LINES = 3;
const FOOTER_LINES = 1;
const BUDGET_LINES = 3;
const IMPACT_LINES = 3;
const SLO_LINES = 6;
/** the SLO pane beside budget and impact (two bordered columns) has room for two more lines */
const SLO_LINES_ROOMY = 8;
/** blank columns between the two columns when the panes have no borders */
const COMPACT_GAP = 2;
const SUMMARY_LINES = 10;
export const HELP_LINES = 13;
/** below this many timeline entries, drop the borders to make room */
const MIN_BORDERED_TIMELINE = 3;

export interface TerminalSize {
  columns: number;
  rows: number;
}

export function terminalSize(stdout?: { columns?: number; rows?: number } | null): TerminalSize {
  const columns = stdout?.columns && stdout.columns > 0 ? stdout.columns : FALLBACK_COLUMNS;
  const rows = stdout?.rows && stdout.rows > 0 ? stdout.rows : FALLBACK_ROWS;
  return { columns, rows };
}

/** The terminal's size, re-rendering on resize. */
export function useTerminalSize(): TerminalSize {
  const { stdout } = useStdout();
  const [size, setSize] = useState(() => terminalSize(stdout));
  useEffect(() => {
    const onResize = () => setSize(terminalSize(stdout));
    onResize();
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}

export type View = 'run' | 'summary' | 'help';

export interface LayoutInput extends TerminalSize {
  view: View;
  /** preflight checks to list (0: the checklist is not shown) */
  preflightChecks: number;
  /** nothing is measured yet: in one column, SLOs and impact give their room to the checklist */
  preflightPhase?: boolean;
  /** PromQL guards: one more line each in the SLO pane */
  guards?: number;
}

export interface Layout {
  width: number;
  twoColumns: boolean;
  /** panes with rounded borders (roomy) or a title line only (compact) */
  bordered: boolean;
  leftWidth: number;
  rightWidth: number;
  /** blank columns between left and right */
  gap: number;
  /** timeline entries to show; 0 hides the timeline */
  timelineEntries: number;
  /** preflight lines to show; 0 hides the checklist */
  preflightLines: number;
  /** the live region's height limit: one less than the terminal */
  maxHeight: number;
  /** lines between header and footer */
  bodyHeight: number;
  /** the natural height is more than the limit: the body is clipped */
  clipped: boolean;
  /** which panes the run view shows above the checklist and timeline */
  mainPanes: 'all' | 'budget';
}

export function paneOverhead(bordered: boolean): number {
  return bordered ? 2 : 1;
}

/** The width inside a pane (borders and padding taken off). */
export function innerWidth(width: number, bordered: boolean): number {
  return Math.max(1, bordered ? width - 4 : width);
}

/** lines inside the SLO pane */
function sloLines(twoColumns: boolean, bordered: boolean, guards: number): number {
  return (twoColumns && bordered ? SLO_LINES_ROOMY : SLO_LINES) + guards;
}

function mainHeight(view: View, twoColumns: boolean, ov: number, mainPanes: Layout['mainPanes'], guards: number): number {
  if (view === 'summary') return SUMMARY_LINES + ov;
  if (view === 'help') return HELP_LINES + ov;
  if (mainPanes === 'budget') return BUDGET_LINES + ov;
  return twoColumns
    ? Math.max(BUDGET_LINES + ov + IMPACT_LINES + ov, sloLines(twoColumns, ov === 2, guards) + ov)
    : BUDGET_LINES + ov + sloLines(false, ov === 2, guards) + ov + IMPACT_LINES + ov;
}

export function computeLayout(input: LayoutInput): Layout {
  const width = Math.max(20, Math.min(input.columns, MAX_WIDTH));
  const twoColumns = width >= TWO_COLUMN_MIN_COLUMNS;
  const maxHeight = Math.max(3, input.rows - 1);
  const bodyHeight = Math.max(0, maxHeight - HEADER_LINES - FOOTER_LINES);
  const wantsPreflight = input.view === 'run' ? input.preflightChecks : 0;
  const wantsTimeline = input.view !== 'help';
  const mainPanes: Layout['mainPanes'] = !twoColumns && input.preflightPhase ? 'budget' : 'all';

  const attempt = (bordered: boolean) => {
    const ov = paneOverhead(bordered);
    let preflightLines = wantsPreflight > 0 ? Math.max(1, wantsPreflight) : 0;
    let left =
      bodyHeight - mainHeight(input.view, twoColumns, ov, mainPanes, input.guards ?? 0) - (preflightLines ? preflightLines + ov : 0);
    if (left < 0 && preflightLines > 1) {
      // the checklist gives way first: it summarises what does not fit
      const cut = Math.min(preflightLines - 1, -left);
      preflightLines -= cut;
      left += cut;
    }
    const timelineEntries = wantsTimeline ? Math.max(0, left - ov) : 0;
    const used = bodyHeight - left + (timelineEntries > 0 ? timelineEntries + ov : 0);
    return { bordered, preflightLines, timelineEntries, clipped: used > bodyHeight || left < 0 };
  };

  let chosen = attempt(true);
  if (chosen.clipped || (wantsTimeline && chosen.timelineEntries < MIN_BORDERED_TIMELINE) || chosen.preflightLines < wantsPreflight) {
    chosen = attempt(false);
  }
  const gap = twoColumns && !chosen.bordered ? COMPACT_GAP : 0;
  const leftWidth = twoColumns ? Math.floor((width - gap) * 0.45) : width;
  const rightWidth = twoColumns ? width - gap - leftWidth : width;
  return { width, twoColumns, leftWidth, rightWidth, gap, maxHeight, bodyHeight, mainPanes, ...chosen };
}
