/* Accessibility repairs for Dash 4's dropdowns and radio items, applied whenever the page changes.
 *
 * Dash 4 renders a dropdown's keyboard focus target as an input marked aria-hidden (so a screen reader meets
 * a focusable element it cannot name) and names the dropdown by its value, not by its label; radio items are
 * a "listbox" of "option" labels that each contain a radio input (nested interactive controls). Each control
 * here sits in a <label> whose .filter-label says what it is: that text becomes the control's name. A slider's
 * thumb gets the same name, and the date of its position (the wrapper's data-marks) as its value text.
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
        root.querySelectorAll('[role="slider"]').forEach(function (thumb) {
            // a Dash slider's thumb: named by its label, its value read as the mark's text (a date)
            const name = labelOf(thumb);
            if (name) set(thumb, 'aria-label', name);
            const slider = thumb.closest('.timeline-slider');
            const marks = slider ? slider.getAttribute('data-marks') : null;
            const now = thumb.getAttribute('aria-valuenow');
            if (marks && now !== null) {
                const text = JSON.parse(marks)[now];
                if (text) set(thumb, 'aria-valuetext', text);
            }
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
                                             attributes: true, attributeFilter: ['aria-expanded', 'aria-valuenow']});
    document.addEventListener('DOMContentLoaded', function () { repair(document); });
})();
