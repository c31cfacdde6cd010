// One page shell for both views: /ui/jobs/{id} shows that job, anything else the job list.
import { $, adoptTokenFromAddress, useToken } from "/ui/assets/common.js";

adoptTokenFromAddress();
$("login").addEventListener("submit", (e) => {
  e.preventDefault();
  if ($("login-token").value.trim()) useToken($("login-token").value);
});
const match = location.pathname.match(/^\/ui\/jobs\/([^/]+)\/?$/);
if (match) {
  (await import("/ui/assets/job.js")).show(decodeURIComponent(match[1]));
} else {
  (await import("/ui/assets/jobs.js")).show();
}
