/* Dash 4.4's dcc.Dropdown puts a keyboard-focusable input in front of its button and hides it
   from assistive technology (aria-hidden="true"): a keyboard user lands on something a screen
   reader does not announce (axe: aria-hidden-focus, serious; plotly/dash#3673 is about the
   same control). Until Dash fixes it, the input is announced instead, under the filter's label. */
(function () {
  function fix(root) {
    var inputs = (root.querySelectorAll ? root : document).querySelectorAll(
      'input.dash-dropdown-focus-target[aria-hidden="true"]');
    for (var i = 0; i < inputs.length; i++) {
      var input = inputs[i];
      input.removeAttribute('aria-hidden');
      var box = input.closest('.filter');
      var label = box && box.querySelector('label');
      if (label && !input.getAttribute('aria-label')) {
        input.setAttribute('aria-label', label.textContent);
      }
    }
  }
  new MutationObserver(function () { fix(document); })
    .observe(document.documentElement, {childList: true, subtree: true});
  document.addEventListener('DOMContentLoaded', function () { fix(document); });
})();
