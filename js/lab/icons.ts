import { LabIcon } from '@jupyterlab/ui-components';

export const runsIcon = new LabIcon({
  name: 'attn-widget:runs',
  svgstr: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path class="jp-icon3" fill="#616161" d="M3 17h4v4H3zm6-6h4v10H9zm6-8h4v18h-4z"/></svg>'
});
