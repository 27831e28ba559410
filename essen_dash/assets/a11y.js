/* Accessibility repairs for Dash 4's dropdowns and radio items, applied whenever the page changes.
 *
 * Dash 4 renders a dropdown's keyboard focus target as an input marked aria-hidden (so a screen reader meets
 * a focusable element it cannot name) and names the dropdown by its value, not by its label; radio items are
 * a "listbox" of "option" labels that each contain a radio input (nested interactive controls). Each control
 * here sits in a <label> whose .filter-label says what it is: that text becomes the control's name.
 */
(function () {
    function labelOf(el) {
        const label = el.closest('label');
        const text = label && label.querySelector('.filter-label');
        return text ? text.textContent.trim() : '';
    }
    function set(el, name, value) {
        if (el.getAttribute(name) !== value) el.setAttribute(name, value);  // unchanged: no new mutation
    }
    function repair(root) {
        root.querySelectorAll('.dash-dropdown-focus-target').forEach(function (input) {
            const wrapper = input.parentElement;
            const value = wrapper.querySelector('.dash-dropdown-value');
            const trigger = wrapper.querySelector('button.dash-dropdown');
            input.removeAttribute('aria-hidden');
            set(input, 'role', 'button');
            set(input, 'aria-haspopup', 'listbox');
            set(input, 'aria-expanded', trigger ? trigger.getAttribute('aria-expanded') || 'false' : 'false');
            set(input, 'aria-label', labelOf(input) + (value ? ': ' + value.textContent.trim() : ''));
        });
        root.querySelectorAll('.dash-radioitems[role="listbox"]').forEach(function (group) {
            set(group, 'role', 'radiogroup');
            set(group, 'aria-label', labelOf(group));
            group.querySelectorAll('[role="option"]').forEach(function (option) {
                option.removeAttribute('role');
                option.removeAttribute('aria-selected');
            });
        });
    }
    new MutationObserver(function () { repair(document); })
        .observe(document.documentElement, {childList: true, subtree: true, characterData: true,
                                             attributes: true, attributeFilter: ['aria-expanded']});
    document.addEventListener('DOMContentLoaded', function () { repair(document); });
})();
