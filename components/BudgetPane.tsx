// Budget burn: experiment and daily spend against their caps, burn rate, time to cap, requests.
// Colours change at 50 / 80 / 100 % of a cap; at 100 % the figure also says "CAP" (not colour alone).
import { Box, Text } from 'ink';
import { useStore } from 'zustand';
import type { GamedayStore } from '../src/state/store.ts';
import { barParts, stackedBarParts } from './bar.ts';
import { levelColor, levelFor, tone } from './colors.ts';
import { clock, fit, int, pct, usd, usdPrice } from './format.ts';
import { innerWidth } from './layout.ts';
import { Pane } from './Pane.tsx';

export interface BudgetPaneProps {
  store: GamedayStore;
  width: number;
  bordered: boolean;
}

/** below this inner width the labels shorten to make room for the bars */
const NARROW = 52;

export function BudgetPane({ store, width, bordered }: BudgetPaneProps) {
  const b = useStore(store, (s) => s.budget);
  const inner = innerWidth(width, bordered);
  const narrow = inner < NARROW;
  const labelWidth = narrow ? 5 : 12;

  const expFraction = b.experimentCapUsd > 0 ? b.experimentSpentUsd / b.experimentCapUsd : 0;
  const dayFraction = b.dayCapUsd > 0 ? b.daySpentUsd / b.dayCapUsd : 0;
  const reservedFraction = b.dayCapUsd > 0 ? b.dayReservedUsd / b.dayCapUsd : 0;

  const figures = (spent: number, cap: number, fraction: number) =>
    cap > 0
      ? `${usd(spent)} / ${usd(cap)} ${fit(levelFor(fraction) === 'over' ? 'CAP' : pct(fraction), 4, 'right')}`
      : `${usd(spent)} / no cap`;
  const expRight = figures(b.experimentSpentUsd, b.experimentCapUsd, expFraction);
  const dayRight = figures(b.daySpentUsd, b.dayCapUsd, dayFraction);
  const rightWidth = Math.max(expRight.length, dayRight.length);
  const barWidth = Math.max(4, inner - labelWidth - rightWidth - 2);

  const exp = barParts(expFraction, barWidth);
  const day = stackedBarParts(dayFraction, reservedFraction, barWidth);
  const worst = Math.max(expFraction, dayFraction);

  const ttc = b.timeToCapMs;
  const ttcColor = ttc === null ? undefined : ttc < 60_000 ? 'red' : ttc < 300_000 ? 'yellow' : undefined;
  const capReached = expFraction >= 1 || dayFraction >= 1;

  return (
    <Pane
      title="Budget burn"
      note={(b.dayReservedUsd > 0 ? `▒ ${usd(b.dayReservedUsd)} reserved · ` : '') + `${usdPrice(b.costPerRequestUsd)}/req`}
      width={width}
      bordered={bordered}
      color={worst >= 0.8 ? levelColor(worst) : undefined}
    >
      <Text wrap="truncate-end">
        <Text bold>{fit(narrow ? 'exp' : 'experiment', labelWidth)}</Text>
        <Text color={levelColor(expFraction)}>{exp.filled}</Text>
        <Text dimColor>{exp.empty}</Text>
        <Text bold={expFraction >= 1} color={levelColor(expFraction)}>
          {'  ' + fit(expRight, rightWidth, 'right')}
        </Text>
      </Text>
      <Text wrap="truncate-end">
        <Text bold>{fit(narrow ? 'day' : 'daily (UTC)', labelWidth)}</Text>
        <Text color={levelColor(dayFraction)}>{day.filled}</Text>
        <Text color={tone('gray')}>{day.reserved}</Text>
        <Text dimColor>{day.empty}</Text>
        <Text bold={dayFraction >= 1} color={levelColor(dayFraction)}>
          {'  ' + fit(dayRight, rightWidth, 'right')}
        </Text>
      </Text>
      <Box>
        <Text wrap="truncate-end">
          <Text dimColor>burn </Text>
          <Text bold>{`${usd(b.burnUsdPerMin)}/min`}</Text>
          <Text dimColor> · </Text>
          {capReached ? (
            <Text bold inverse color={tone('red')}>
              {' '}
              CAP REACHED{' '}
            </Text>
          ) : (
            <>
              <Text dimColor>cap in </Text>
              <Text bold color={tone(ttcColor)}>
                {ttc === null ? '—' : clock(ttc)}
              </Text>
            </>
          )}
          <Text dimColor> · </Text>
          <Text bold>{int(b.requestsSent)}</Text>
          <Text dimColor>{narrow ? ' req' : ' requests'}</Text>
        </Text>
      </Box>
    </Pane>
  );
}
