/* Scrubbable explorers (tools/sphinx_scrubber.py): each slider picks a frame drawn at build
   time; moving it swaps the image's src and alt, so a frame is fetched only when shown. */
(() => {
  "use strict";
  function setUp(figure) {
    const frames = JSON.parse(figure.dataset.frames);
    const sizes = JSON.parse(figure.dataset.sizes);
    const img = figure.querySelector("img");
    const inputs = [...figure.querySelectorAll("input[type=range]")];
    function show() {
      let index = 0;
      inputs.forEach((input, k) => {
        const value = JSON.parse(input.dataset.values)[Number(input.value)];
        input.parentElement.querySelector("output").textContent = value;
        input.setAttribute("aria-valuetext", `${input.dataset.name} = ${value}`);
        index = index * sizes[k] + Number(input.value);
      });
      const frame = frames[index];
      if (img.getAttribute("src") !== frame.src) {
        img.src = frame.src;
        img.alt = frame.alt;
      }
    }
    inputs.forEach((input) => input.addEventListener("input", show));
    figure.classList.add("scrubber-ready");
  }
  document.querySelectorAll("figure.scrubber").forEach(setUp);
})();
