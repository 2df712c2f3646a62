// The confusion matrix on the page: drawn with its classes' names (draw/confusion.js), the same counts
// as an HTML table with the full names (for a screen reader, and for reading every count when ten
// classes leave the drawing only room for percentages), and a tooltip naming the cell under the pointer.
import { drawNote } from '../draw/common.js';
import { drawConfusion } from '../draw/confusion.js';
import { nameOf, shortNameOf, shownWords } from './classes.js';
import { $ } from './dom.js';
import { count } from './format.js';
import { prepare } from './frames.js';
import { state } from './state.js';
import { report } from './test-hooks.js';

let drawn = null;   // what is drawn: { layout (cells in CSS pixels), matrix, classes }

export function drawConfusionPanel() {
  const { ctx, width, height } = prepare($('confusion'));
  const matrix = state.fit?.metrics?.confusion;
  if (!matrix) {
    ctx.clearRect(0, 0, width, height);
    ctx.fillStyle = '#f7f9fb';
    ctx.fillRect(0, 0, width, height);
    drawNote(ctx, `confusion matrix (rows: true ${shownWords().noun})`, width / 2, height / 2, '12px system-ui, sans-serif');
    drawn = null;
    renderTable(null, []);
    return;
  }
  const classes = state.fit.classes;
  const layout = drawConfusion(ctx, { width, height, matrix, digits: classes, names: classes.map((c) => nameOf(c)),
    shortNames: classes.map((c) => shortNameOf(c)) });
  drawn = { layout, matrix, classes };
  renderTable(matrix, classes);
  report({ confusionCells: layout.percent ? 'percent' : 'count' });
}

// One row per true class, one column per predicted class, each headed by its full name.
function renderTable(matrix, classes) {
  const table = $('confusion-table');
  const key = JSON.stringify([matrix, classes.map((c) => nameOf(c))]);
  if (table.dataset.key === key) return;
  table.dataset.key = key;
  $('confusion-more').hidden = !matrix;
  if (!matrix) return table.tBodies[0].replaceChildren();
  const th = (text, scope) => Object.assign(document.createElement('th'), { textContent: text, scope });
  const corner = th('true \u2193 predicted \u2192', 'col');
  table.tHead.rows[0].replaceChildren(corner, ...classes.map((c) => th(nameOf(c), 'col')));
  table.tBodies[0].replaceChildren(...matrix.map((row, r) => {
    const tr = document.createElement('tr');
    tr.append(th(nameOf(classes[r]), 'row'), ...row.map((n, c) => {
      const td = document.createElement('td');
      td.textContent = count(n);
      if (r === c) td.className = 'right';
      return td;
    }));
    return tr;
  }));
}

// The cell under the pointer, in words, as the canvas's tooltip.
function describeCell(event) {
  const canvas = $('confusion');
  if (!drawn) return canvas.removeAttribute('title');
  const { layout: { left, top, cell, n }, matrix, classes } = drawn;
  const rect = canvas.getBoundingClientRect();
  const c = Math.floor((event.clientX - rect.left - left) / cell), r = Math.floor((event.clientY - rect.top - top) / cell);
  if (r < 0 || c < 0 || r >= n || c >= n) return canvas.removeAttribute('title');
  const total = matrix[r].reduce((a, b) => a + b, 0);
  canvas.title = `true ${nameOf(classes[r])}, predicted ${nameOf(classes[c])}: ${count(matrix[r][c])} of ${count(total)} ` +
    `(${total ? (100 * matrix[r][c] / total).toFixed(1) : '0'}%)`;
}

export function initConfusionPanel() {
  $('confusion').addEventListener('pointermove', describeCell);
}
