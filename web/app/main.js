// The page's entry: wires the modules of web/app/ at start-up, in order. It computes nothing heavy
// itself (no wasm on this thread, only drawing and small sums); the workers own the run.
import { followPhase, renderControls } from './controls.js';
import { initDataFiles } from './data-files.js';
import { reportError } from './dom.js';
import { initDrawingPad } from './drawing-pad.js';
import { initEmReplay } from './em-replay.js';
import { initExplore } from './explore.js';
import { initPngExport } from './export-png.js';
import { markAllDirty, setPanels, watchLayout } from './frames.js';
import { initConfusionPanel } from './confusion-panel.js';
import { initModelFiles } from './model-files.js';
import { PANELS } from './panels.js';
import { initPretrained } from './pretrained.js';
import { initProbe } from './probe.js';
import { initRun } from './run.js';
import { initSettings } from './settings.js';
import { addTestRequests } from './test-hooks.js';
import { startWorkers, trainer, viewer } from './workers.js';

setPanels(PANELS);
startWorkers();
followPhase(trainer);
initSettings();   // fills the form from the link and checks it (the dataset chosen among the settings)
initModelFiles();
initPretrained();
initDataFiles();
initRun();
initProbe();
initDrawingPad();
initExplore();
initEmReplay();
initPngExport();
addTestRequests(trainer, viewer);
initConfusionPanel();
renderControls();
watchLayout();
window.addEventListener('unhandledrejection', (event) => reportError(String(event.reason?.message ?? event.reason)));
markAllDirty();
