import { LabIcon } from "@jupyterlab/ui-components";

/** The task stream's icon: bars of tasks on three engines' rows. `jp-icon3` follows the theme. */
export const taskStreamIcon = new LabIcon({
  name: "tsparallel:task-stream",
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="2" y="4" width="7" height="4" rx="1"/>
    <rect x="11" y="4" width="11" height="4" rx="1"/>
    <rect x="2" y="10" width="12" height="4" rx="1"/>
    <rect x="17" y="10" width="5" height="4" rx="1"/>
    <rect x="5" y="16" width="9" height="4" rx="1"/>
    <rect x="16" y="16" width="4" height="4" rx="1"/>
  </g>
</svg>`,
});
