// What every page module shares of the document: an element by id, the one error line under the buttons,
// and the word for pointing (hover or tap).
import { record } from './test-hooks.js';

export const $ = (id) => document.getElementById(id);

// The error line (null hides it). The settings mark their own message (dataset.source = 'form').
export function showError(message) {
  $('error').hidden = !message;
  $('error').textContent = message ?? '';
  delete $('error').dataset.source;
}

// An error the user should see, kept for the tests too.
export function reportError(message) {
  record('errors', message);
  showError(message);
}

// Words for pointing at the plane: "hover" where a pointer hovers, "tap" on touch screens, where nothing does.
export const HOVERS = window.matchMedia('(hover: hover)').matches;
export const pointWord = HOVERS ? 'hover' : 'tap';
