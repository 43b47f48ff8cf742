/**
 * The store's settings and the page URL kept in step: the query is applied once at start-up, and
 * every settings change rewrites it (history.replaceState, debounced) so the address is a shareable link.
 */
import type { AppState } from './app-state.ts';
import { methodRow, switchMethod } from './methods.ts';
import { useAppStore } from './store.ts';
import { configToQuery, queryToConfig } from './url-config.ts';

const DEBOUNCE_MS = 250;

/**
 * The query for the current settings (the demo only when a demo is the data; the probe once a model
 * has set it), with how often a run checkpoints and measures its spectra.
 */
export function currentQuery(s: AppState): string {
  const demo = s.dataSource?.kind === 'demo' ? s.dataSource.id : (s.dataSource ? undefined : (s.preferredDemo ?? undefined));
  const probe = s.model ? (s.probeDemo ?? 'none') : (s.probeFromLink ?? undefined);
  return configToQuery(s.trainConfig, { methodId: s.methodId, demo, probe, checkpointEvery: s.checkpointEvery, spectraEvery: s.spectraEvery, recomputeAuto: s.recomputeAuto });
}

/** A link to this page with the current settings. */
export function currentLink(s: AppState): string {
  return `${location.origin}${location.pathname}?${currentQuery(s)}${location.hash}`;
}

/** Apply `search` to the settings; problems become the store's urlMessage. */
export function applyQuery(search: string): void {
  if (search === '' || search === '?') return;
  const { config, extras, errors } = queryToConfig(search);
  useAppStore.setState((s) => {
    const methodId = extras.methodId ?? s.methodId;
    // The row's preset (rsLoRA's scaling) wins over a contradicting rslora parameter; lr and steps the link omits are the method's defaults.
    const trainConfig = { ...switchMethod(s.trainConfig, s.methodId, methodId, s.editedFields), ...config, ...methodRow(methodId).preset };
    return {
      methodId,
      trainConfig,
      preferredDemo: extras.demo ?? null,
      probeFromLink: extras.probe ?? null,
      checkpointEvery: extras.checkpointEvery ?? s.checkpointEvery,
      // The engine is told once it is ready (gpu-slice).
      spectraEvery: extras.spectraEvery ?? s.spectraEvery,
      // recompute=1/0 is a choice the studio keeps; recompute=auto (or none) leaves it to the estimate.
      recomputeAuto: config.recompute === undefined,
      urlMessage: errors.length > 0 ? `The link's settings had problems: ${errors.join(' ')}` : null,
    };
  });
  // The address now holds only what was applied: a reload does not repeat the message.
  history.replaceState(history.state, '', `${location.pathname}?${currentQuery(useAppStore.getState())}${location.hash}`);
}

/** Rewrite the URL whenever the settings or the chosen demo change; returns the unsubscribe. */
export function syncUrl(): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const unsubscribe = useAppStore.subscribe((s, prev) => {
    const same =
      s.trainConfig === prev.trainConfig && s.methodId === prev.methodId && s.dataSource === prev.dataSource && s.probeDemo === prev.probeDemo &&
      s.checkpointEvery === prev.checkpointEvery && s.spectraEvery === prev.spectraEvery && s.recomputeAuto === prev.recomputeAuto;
    if (same) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      const query = currentQuery(useAppStore.getState());
      if (location.search !== `?${query}`) history.replaceState(history.state, '', `${location.pathname}?${query}${location.hash}`);
    }, DEBOUNCE_MS);
  });
  return () => {
    clearTimeout(timer);
    unsubscribe();
  };
}
