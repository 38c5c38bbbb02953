// Loaded between RequireJS and the ipywidgets embed manager (see _config.yml): the
// manager then finds its fonts and modules in this folder, served by the book, and
// never asks a CDN for them.
(function () {
  var folder = document.currentScript.src.replace(/[^/]*$/, "");
  window.__jupyter_widgets_assets_path__ = folder;
  require.config({ paths: { "@jupyter-widgets/html-manager/dist": folder.slice(0, -1) } });
})();
