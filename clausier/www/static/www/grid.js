/* Monthly hours grid: spreadsheet-like keyboard use.
 * Tab: next cell (native). Enter: same column, next row (Shift+Enter: previous row); on the last row,
 * Enter moves to the save button. Arrow up/down: previous/next row. Arrow left/right at the edge of
 * the text: previous/next column. Delegated on the document, so it survives htmx swaps. */
(function () {
  "use strict";

  function cellAt(grid, row, col) {
    return grid.querySelector('input[data-grid-cell][data-row="' + row + '"][data-col="' + col + '"]');
  }

  function move(grid, cell, dRow, dCol) {
    var row = parseInt(cell.dataset.row, 10) + dRow;
    var col = parseInt(cell.dataset.col, 10) + dCol;
    var target = cellAt(grid, row, col);
    if (target) {
      target.focus();
      target.select();
      return true;
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    var cell = event.target;
    if (!cell || !cell.matches || !cell.matches("input[data-grid-cell]")) return;
    var grid = cell.closest("[data-grid]");
    if (!grid || event.altKey || event.ctrlKey || event.metaKey) return;
    var whole = cell.selectionStart === 0 && cell.selectionEnd === cell.value.length;
    var atStart = whole || (cell.selectionStart === 0 && cell.selectionEnd === 0);
    var atEnd = whole || (cell.selectionStart === cell.value.length && cell.selectionEnd === cell.value.length);
    switch (event.key) {
      case "Enter":
        event.preventDefault();
        if (!move(grid, cell, event.shiftKey ? -1 : 1, 0) && !event.shiftKey) {
          var save = grid.querySelector("[data-grid-save]");
          if (save) save.focus();
        }
        break;
      case "ArrowDown":
        if (move(grid, cell, 1, 0)) event.preventDefault();
        break;
      case "ArrowUp":
        if (move(grid, cell, -1, 0)) event.preventDefault();
        break;
      case "ArrowRight":
        if (atEnd && move(grid, cell, 0, 1)) event.preventDefault();
        break;
      case "ArrowLeft":
        if (atStart && move(grid, cell, 0, -1)) event.preventDefault();
        break;
    }
  });

  document.addEventListener("focusin", function (event) {
    var cell = event.target;
    if (cell && cell.matches && cell.matches("input[data-grid-cell]")) cell.select();
  });
})();
