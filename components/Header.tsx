// Header: experiment, target, fault, the phase track, elapsed time and the fault window as a bar.
import { Box, Text } from 'ink';
import { useStore } from 'zustand';
import type { StoreApi } from 'zustand/vanilla';
import { useShallow } from 'zustand/react/shallow';
import { PHASES, type Phase, type Summary } from '../src/engine/events.ts';
import type { ReplayStatus } from '../src/state/replay-player.ts';
import type { GamedayStore } from '../src/state/store.ts';
import { barParts } from './bar.ts';
import { ACCENT, tone } from './colors.ts';
import { clock, fit } from './format.ts';
import { shown } from './shown.ts';
import { useReplayBadge } from './replay-badge.ts';
import { STATUS_HEADLINE } from './status.ts';

export interface HeaderProps {
  store: GamedayStore;
  width: number;
  /** a journal played back: the header says so, with its speed and position */
  replay?: StoreApi<ReplayStatus>;
}

export interface Badge {
  text: string;
  color: string;
}

function badgeFor(phase: Phase, faultActive: boolean, faultPaused: boolean, summary: Summary | null): Badge {
  if (summary) {
    const head = STATUS_HEADLINE[summary.status];
    return { text: ` ${head.icon} ${head.badge} · exit ${summary.exitCode} `, color: head.color };
  }
  if (phase === 'done') return { text: ' ✔ DONE ', color: 'green' };
  if (faultActive && faultPaused) return { text: ' ‖ FAULT PAUSED ', color: 'yellow' };
  if (faultActive) return { text: ' ● FAULT ACTIVE ', color: 'red' };
  if (phase === 'rollback') return { text: ' ↺ ROLLING BACK ', color: 'magenta' };
  if (phase === 'verify') return { text: ' ◎ VERIFYING RECOVERY ', color: 'magenta' };
  if (phase === 'restore') return { text: ' ↺ PUTTING BACK ', color: 'magenta' };
  return { text: ' ○ NO FAULT ', color: 'green' };
}

/** White on the badge's colour; inverse where colours are off. */
function BadgeText({ badge }: { badge: Badge }) {
  const colored = tone(badge.color) !== undefined;
  return (
    <Text bold inverse={!colored} color={colored ? 'white' : undefined} backgroundColor={tone(badge.color)} wrap="truncate-end">
      {badge.text}
    </Text>
  );
}

export function Header({ store, width, replay }: HeaderProps) {
  const s = useStore(
    store,
    useShallow((st) => ({
      experiment: st.experiment,
      phase: st.phase,
      phaseStartedAtMs: st.phaseStartedAtMs,
      phasesVisited: st.phasesVisited,
      startedAtMs: st.startedAtMs,
      faultStartedAtMs: st.faultStartedAtMs,
      nowMs: st.nowMs,
      faultActive: st.faultActive,
      faultPaused: st.faultPaused,
      summary: st.summary,
    })),
  );
  const exp = s.experiment;
  const badge = badgeFor(s.phase, s.faultActive, s.faultPaused, s.summary);
  const replaying = useReplayBadge(replay, s.nowMs, s.summary !== null);

  // line 1: the title bar
  const parts = exp
    ? [
        ' GAMEDAY',
        shown(exp.name),
        `fault ${shown(exp.faultLabel)}`,
        `→ ${shown(exp.targetUrl)}${exp.demo ? ' (demo)' : ''}`,
        `${exp.rps} rps`,
      ]
    : [' GAMEDAY', 'loading experiment…'];
  const titleWidth = Math.max(0, width - badge.text.length - (replaying ? [...replaying.text].length : 0));
  const title = fit(parts.join(' │ ') + ' ', titleWidth);

  // line 2: the phase track and the elapsed time
  const currentIndex = PHASES.indexOf(s.phase);
  const elapsed = `elapsed ${clock(s.nowMs - s.startedAtMs)}`;

  // line 3: the window the run is in, as a bar
  const progress = progressFor(s.phase, s, exp?.baselineMs ?? 0, exp?.durationMs ?? 0);
  const label = fit(progress.label, 9);
  const barWidth = Math.max(4, width - label.length - progress.right.length - 2);
  const { filled, empty } = barParts(progress.fraction, barWidth);

  return (
    <Box flexDirection="column" width={width}>
      <Box>
        {replaying ? <BadgeText badge={replaying} /> : null}
        <Text inverse bold wrap="truncate-end">
          {title}
        </Text>
        <BadgeText badge={badge} />
      </Box>
      <Box width={width}>
        <Box width={Math.max(1, width - elapsed.length - 1)}>
          <Text wrap="truncate-end">
            {PHASES.map((phase, i) => {
              const sep = i === 0 ? '' : ' ';
              // skipped phases (a refused run never injects) keep no tick: the track tells what happened
              if (i < currentIndex)
                return <Text key={phase} dimColor>{`${sep}${s.phasesVisited.includes(phase) ? '✓' : '·'}${phase}`}</Text>;
              if (i === currentIndex) {
                return (
                  <Text key={phase}>
                    {sep}
                    <Text bold inverse color={tone(phaseColor(phase))}>{` ${phase.toUpperCase()} `}</Text>
                  </Text>
                );
              }
              return <Text key={phase} dimColor>{`${sep} ${phase}`}</Text>;
            })}
          </Text>
        </Box>
        <Text bold wrap="truncate-end">
          {' ' + elapsed}
        </Text>
      </Box>
      <Text wrap="truncate-end">
        <Text bold>{label} </Text>
        <Text color={tone(progress.color)}>{filled}</Text>
        <Text dimColor>{empty}</Text>
        <Text> {progress.right}</Text>
      </Text>
    </Box>
  );
}

function phaseColor(phase: Phase): string {
  switch (phase) {
    case 'inject':
    case 'observe':
      return 'red';
    case 'rollback':
    case 'verify':
    case 'restore':
      return 'magenta';
    case 'done':
      return 'green';
    default:
      return ACCENT.phase;
  }
}

interface Progress {
  label: string;
  fraction: number;
  right: string;
  color: string;
}

interface Clocks {
  phaseStartedAtMs: number;
  startedAtMs: number;
  faultStartedAtMs: number | null;
  nowMs: number;
  faultPaused: boolean;
}

/** What the bar on the third line measures: the baseline, then the fault window, then the wind-down. */
export function progressFor(phase: Phase, c: Clocks, baselineMs: number, durationMs: number): Progress {
  const inPhase = Math.max(0, c.nowMs - c.phaseStartedAtMs);
  const faultFor = c.faultStartedAtMs === null ? 0 : Math.max(0, c.nowMs - c.faultStartedAtMs);
  switch (phase) {
    case 'preflight':
      return {
        label: 'preflight',
        fraction: 0,
        right: `plan: baseline ${clock(baselineMs)} + fault ${clock(durationMs)}`,
        color: ACCENT.phase,
      };
    case 'baseline':
      return {
        label: 'baseline',
        fraction: baselineMs > 0 ? inPhase / baselineMs : 0,
        right: `${clock(inPhase)} / ${clock(baselineMs)} · fault in ${clock(Math.max(0, baselineMs - inPhase))}`,
        color: ACCENT.phase,
      };
    case 'inject':
    case 'observe':
      return {
        label: c.faultPaused ? 'paused' : 'fault',
        fraction: durationMs > 0 ? faultFor / durationMs : 0,
        right: `${clock(faultFor)} / ${clock(durationMs)} · ${clock(Math.max(0, durationMs - faultFor))} left`,
        color: c.faultPaused ? 'yellow' : 'red',
      };
    case 'rollback':
    case 'verify':
    case 'restore':
      return {
        label: phase,
        fraction: 1,
        right: `${{ rollback: 'rolling back', verify: 'verifying recovery', restore: 'putting back what the rollback shifted' }[phase]} ${clock(inPhase)}`,
        color: 'magenta',
      };
    case 'done':
      return { label: 'done', fraction: 1, right: `total ${clock(c.nowMs - c.startedAtMs)}`, color: 'green' };
  }
}
