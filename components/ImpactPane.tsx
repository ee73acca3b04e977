// Impact score: 0–100 (100 = an SLI at its objective), its band, the SLI that drives it, the peak.
import { Text } from 'ink';
import { useStore } from 'zustand';
import { useShallow } from 'zustand/react/shallow';
import { SLI_LABEL, type SliName } from '../src/engine/slis.ts';
import type { GamedayStore } from '../src/state/store.ts';
import { barParts } from './bar.ts';
import { BAND_COLOR, tone } from './colors.ts';
import { fit } from './format.ts';
import { innerWidth } from './layout.ts';
import { Pane } from './Pane.tsx';
import { shown } from './shown.ts';
import { sparkline } from './sparkline.ts';

export interface ImpactPaneProps {
  store: GamedayStore;
  width: number;
  bordered: boolean;
}

export function ImpactPane({ store, width, bordered }: ImpactPaneProps) {
  const { impact, history } = useStore(
    store,
    useShallow((s) => ({ impact: s.impact, history: s.history })),
  );
  const inner = innerWidth(width, bordered);
  const score = Math.max(0, Math.min(100, Math.round(impact.score)));
  const peak = Math.max(0, Math.min(100, Math.round(impact.peak)));
  const color = tone(BAND_COLOR[impact.band]);
  const band = impact.band.toUpperCase();
  const head = `${fit(String(score), 3, 'right')}/100 `;
  const bandText = ` ${fit(band, 8)} `;
  const { filled, empty } = barParts(score / 100, Math.max(4, inner - head.length - bandText.length - 1));
  const severe = impact.band === 'high' || impact.band === 'critical';
  const sparkWidth = Math.max(4, inner - 'last 60s '.length);

  return (
    <Pane title="Impact" note={`peak ${peak}`} width={width} bordered={bordered} color={impact.band === 'critical' ? 'red' : undefined}>
      <Text wrap="truncate-end">
        <Text bold color={color}>
          {head}
        </Text>
        <Text bold inverse={severe} color={color}>
          {bandText}
        </Text>
        <Text> </Text>
        <Text color={color}>{filled}</Text>
        <Text dimColor>{empty}</Text>
      </Text>
      <Text wrap="truncate-end">
        <Text dimColor>driven by </Text>
        <Text bold>{impact.driver ? shown(SLI_LABEL[impact.driver as SliName] ?? impact.driver) : '—'}</Text>
        <Text dimColor> · peak so far </Text>
        <Text bold>{String(peak)}</Text>
        <Text dimColor>/100</Text>
      </Text>
      <Text wrap="truncate-end">
        <Text dimColor>last 60s </Text>
        <Text color={color}>
          {sparkline(
            history.map((p) => p.impact),
            { width: sparkWidth, min: 0, max: 100, reduce: 'max' },
          )}
        </Text>
      </Text>
    </Pane>
  );
}
