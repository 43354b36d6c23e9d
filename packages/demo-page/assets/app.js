// keygate demo page. The access token is kept in this closure only: never in storage, the DOM
// or a URL. After a reload the session comes back through the HttpOnly refresh cookie
// (POST /auth/refresh), and the token is refreshed silently a minute before it expires.
'use strict';
(() => {
  let accessToken = null;
  let refreshTimer = null;
  let pollTimer = null;
  let refreshing = null;

  const $ = (id) => document.getElementById(id);

  function say(text, isError = false) {
    const el = $('status');
    el.textContent = text;
    el.classList.toggle('error', isError);
  }

  function clearSession() {
    accessToken = null;
    clearTimeout(refreshTimer);
    clearInterval(pollTimer);
  }

  function showSignedOut(message) {
    clearSession();
    $('signed-in').hidden = true;
    $('signed-out').hidden = false;
    say(message);
  }

  function useTokenResponse(body) {
    accessToken = body.access_token;
    clearTimeout(refreshTimer);
    const refreshInMs = Math.max(5, Number(body.expires_in) - 60) * 1000;
    refreshTimer = setTimeout(async () => {
      if (!(await refresh())) showSignedOut('Your session has ended. Please log in again.');
    }, refreshInMs);
  }

  /** One refresh at a time: concurrent callers share it (rotation spends the cookie). */
  function refresh() {
    if (!refreshing) {
      refreshing = (async () => {
        try {
          const res = await fetch('/auth/refresh', { method: 'POST', credentials: 'same-origin' });
          if (res.status !== 200) {
            accessToken = null;
            return false;
          }
          useTokenResponse(await res.json());
          return true;
        } catch {
          return false;
        } finally {
          setTimeout(() => (refreshing = null), 0);
        }
      })();
    }
    return refreshing;
  }

  async function api(path, { method = 'GET', body, retry = true } = {}) {
    const headers = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (accessToken) headers.authorization = `Bearer ${accessToken}`;
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
    // Only a 401 about the token (it carries WWW-Authenticate) is worth a refresh: a wrong
    // authentication code is a 401 too (invalid_code), and must not sign the page out.
    if (res.status === 401 && retry && res.headers.has('www-authenticate')) {
      if (await refresh()) return api(path, { method, body, retry: false });
      showSignedOut('You were signed out (this session was revoked or expired). Please log in again.');
      throw new Error('signed out');
    }
    return res;
  }

  async function describeError(res) {
    try {
      const body = await res.json();
      return body.error_description || body.error || `HTTP ${res.status}`;
    } catch {
      return `HTTP ${res.status}`;
    }
  }

  function listItem(text) {
    const li = document.createElement('li');
    li.textContent = text;
    return li;
  }

  async function loadMe() {
    const res = await api('/auth/me');
    const me = await res.json();
    $('me-email').textContent = me.email;
    $('me-role').textContent = me.role;
    $('me-id').textContent = me.id;
    // Email verification (issue 18 part A).
    $('me-verified').textContent = me.email_verified ? 'yes' : 'not yet';
    $('verify-note').hidden = me.email_verified === true;
  }

  /** GET `path`, then the list `id` shows one item per entry (`item(entry)`), or `empty` when there is none. */
  async function showList(path, id, item, empty) {
    const res = await api(path);
    const entries = await res.json();
    $(id).replaceChildren(...(entries.length === 0 && empty ? [listItem(empty)] : entries.map(item)));
  }

  async function loadOrders() {
    await showList('/orders', 'orders', (o) => listItem(`${o.quantity} × ${o.item} — ${o.status} (${new Date(o.created_at).toLocaleString()})`), 'No orders yet.');
  }

  async function loadNotifications() {
    await showList('/notifications', 'notifications', (n) => {
      const what = n.type === 'order_placed' && n.data ? `Order placed: ${n.data.quantity} × ${n.data.item}` : n.type;
      const li = listItem(`${what}${n.read ? '' : ' (new)'}`);
      li.dataset.type = n.type;
      return li;
    }, 'No notifications yet.');
  }

  async function loadSessions() {
    await showList('/auth/sessions', 'sessions', (s) => {
      const li = listItem(`${s.current ? 'This browser' : 'Other session'} — ${s.user_agent || 'unknown device'}, ${s.ip || 'unknown address'}, last used ${new Date(s.last_used_at).toLocaleString()} `);
      if (s.current) li.classList.add('current');
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = s.current ? 'Revoke (signs this browser out)' : 'Revoke';
      button.setAttribute('aria-label', `Revoke ${s.current ? 'this' : 'the other'} session started ${new Date(s.created_at).toLocaleString()}`);
      button.addEventListener('click', () => revokeSession(s.id, s.current));
      li.append(button);
      return li;
    });
  }

  async function revokeSession(id, current) {
    const res = await api(`/auth/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
    if (res.status !== 204) return say(await describeError(res), true);
    if (current) return showSignedOut('This session was revoked.');
    say('Session revoked.');
    await loadSessions();
  }

  async function showSignedIn() {
    $('signed-out').hidden = true;
    $('signed-in').hidden = false;
    await Promise.all([loadMe(), loadOrders(), loadNotifications(), loadSessions()]);
    clearInterval(pollTimer);
    // Notifications arrive asynchronously (order → outbox → stream → notifications).
    pollTimer = setInterval(() => loadNotifications().catch(() => {}), 1500);
    say('Signed in.');
  }

  async function credentials() {
    return { email: $('email').value, password: $('password').value };
  }

  async function login() {
    // remember: a persistent refresh cookie (issue 18, mfa); otherwise it ends with the browser session.
    const body = { ...(await credentials()), remember: $('remember').checked };
    const res = await fetch('/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'same-origin' });
    if (res.status === 401 && (await askForCodeIfNeeded(res))) return;
    if (res.status !== 200) return say(await describeError(res), true);
    useTokenResponse(await res.json());
    $('password').value = '';
    await showSignedIn();
  }

  // --- Two-factor authentication, remember me, account deletion (issue 18, mfa) ---------------
  // The mfa_token of a login waiting for its code lives in this closure only, like the access token.
  let mfaToken = null;

  /** A 401 mfa_required: show the code step. False for any other 401 (the caller reports it). */
  async function askForCodeIfNeeded(res) {
    const body = await res.clone().json().catch(() => ({}));
    if (body.error !== 'mfa_required' || !body.mfa_token) return false;
    mfaToken = body.mfa_token;
    $('signed-out').hidden = true;
    $('mfa-step').hidden = false;
    $('mfa-code').value = '';
    $('mfa-code').focus();
    say('Enter the code from your authenticator app.');
    return true;
  }

  async function verifyCode() {
    const res = await fetch('/auth/login/mfa', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mfa_token: mfaToken, code: $('mfa-code').value.trim() }), credentials: 'same-origin' });
    if (res.status === 400) {
      cancelCode();
      return say('The sign-in took too long; please log in again.', true);
    }
    if (res.status !== 200) return say(await describeError(res), true);
    mfaToken = null;
    $('mfa-step').hidden = true;
    $('password').value = '';
    useTokenResponse(await res.json());
    await showSignedIn();
  }

  function cancelCode() {
    mfaToken = null;
    $('mfa-step').hidden = true;
    showSignedOut('Not signed in.');
  }

  async function startMfa() {
    const res = await api('/auth/mfa/totp', { method: 'POST' });
    if (res.status !== 200) return say(await describeError(res), true);
    const enrolment = await res.json();
    // The server's SVG, parsed as XML (never as HTML): no script can come with it.
    const svg = new window.DOMParser().parseFromString(enrolment.qr_svg, 'image/svg+xml').documentElement;
    $('mfa-qr').replaceChildren(document.importNode(svg, true));
    $('mfa-secret').textContent = enrolment.secret;
    $('mfa-recovery').hidden = true;
    $('mfa-enrol').hidden = false;
    say('Scan the QR code, then enter the code your app shows.');
  }

  async function confirmMfa() {
    const res = await api('/auth/mfa/totp/confirm', { method: 'POST', body: { code: $('mfa-enrol-code').value.trim() } });
    if (res.status !== 200) return say(await describeError(res), true);
    const { recovery_codes: codes } = await res.json();
    $('mfa-enrol').hidden = true;
    $('mfa-qr').replaceChildren();
    $('mfa-secret').textContent = '';
    $('mfa-enrol-code').value = '';
    $('mfa-recovery-codes').replaceChildren(...codes.map(listItem));
    $('mfa-recovery').hidden = false;
    say('Two-factor authentication is on.');
  }

  /** A change confirmed with the account's password (the input is cleared whatever the answer). */
  async function withPassword(inputId, path, done) {
    const res = await api(path, { method: 'DELETE', body: { password: $(inputId).value } });
    $(inputId).value = '';
    if (res.status !== 204) return say(await describeError(res), true);
    done();
  }

  function removeMfa() {
    return withPassword('mfa-remove-password', '/auth/mfa', () => {
      $('mfa-recovery').hidden = true;
      say('Two-factor authentication is off.');
    });
  }

  function deleteAccount() {
    return withPassword('delete-password', '/auth/me', () => showSignedOut('Your account was deleted.'));
  }
  // --- end of two-factor authentication, remember me, account deletion -------------------------

  async function register() {
    const res = await fetch('/auth/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(await credentials()), credentials: 'same-origin' });
    if (res.status !== 201) return say(await describeError(res), true);
    say('Account created. Logging in…');
    await login();
  }

  async function placeOrder() {
    const item = $('item').value.trim();
    const quantity = Number($('quantity').value);
    const res = await api('/orders', { method: 'POST', body: { item, quantity } });
    if (res.status !== 201) return say(await describeError(res), true);
    $('item').value = '';
    say(`Order placed: ${quantity} × ${item}.`);
    await loadOrders();
  }

  async function logout(everywhere) {
    const res = everywhere
      ? await api('/auth/logout-all', { method: 'POST' })
      : await fetch('/auth/logout', { method: 'POST', credentials: 'same-origin', headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {} });
    if (res.status !== 204) return say(await describeError(res), true);
    showSignedOut(everywhere ? 'Logged out everywhere.' : 'Logged out.');
  }

  // ---- Account recovery and email verification (issue 18 part A) --------------------------------
  // Mailed links carry their token in the URL fragment (#verify_email=… / #reset_password=…): a
  // fragment never reaches a server or a Referer. It is read once and removed from the address bar.
  let resetToken = null;

  function takeMailedToken() {
    const match = /^#(verify_email|reset_password)=([A-Za-z0-9_-]{1,256})$/.exec(window.location.hash);
    if (!match) return null;
    window.history.replaceState(null, '', window.location.pathname + window.location.search);
    return { kind: match[1], token: match[2] };
  }

  async function verifyEmail(token) {
    const res = await fetch('/auth/verify-email', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    return res.status === 204 ? null : describeError(res);
  }

  async function sendReset() {
    const email = $('forgot-address').value;
    const res = await fetch('/auth/password-reset', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
    if (res.status !== 202) return say(await describeError(res), true);
    say('If an account exists for that address, a reset link is on its way.');
  }

  async function setNewPassword() {
    const res = await fetch('/auth/password-reset/confirm', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: resetToken, new_password: $('new-passphrase').value }),
    });
    if (res.status !== 204) return say(await describeError(res), true);
    resetToken = null;
    $('new-passphrase').value = '';
    $('reset').hidden = true;
    showSignedOut('Password changed and every session signed out. Log in with the new password.');
  }

  async function resendVerification() {
    const res = await api('/auth/verify-email/resend', { method: 'POST' });
    if (res.status !== 202) return say(await describeError(res), true);
    say('A new verification link is on its way.');
  }

  /** Handles a mailed link the page was opened with; true when it showed a page of its own. */
  async function followMailedLink() {
    const mailed = takeMailedToken();
    if (!mailed) return false;
    if (mailed.kind === 'verify_email') {
      const problem = await verifyEmail(mailed.token);
      say(problem ?? 'Your email address is confirmed.', problem !== null);
      return false;
    }
    resetToken = mailed.token;
    $('signed-out').hidden = true;
    $('signed-in').hidden = true;
    $('reset').hidden = false;
    say('Choose a new password.');
    return true;
  }
  // ---- End of account recovery and email verification -------------------------------------------

  function guard(fn) {
    return (event) => {
      event?.preventDefault?.();
      fn().catch((error) => {
        if (error?.message !== 'signed out') say('Something went wrong; please try again.', true);
      });
    };
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('auth-form').addEventListener('submit', guard(login));
    $('register').addEventListener('click', guard(register));
    $('order-form').addEventListener('submit', guard(placeOrder));
    $('logout').addEventListener('click', guard(() => logout(false)));
    $('logout-all').addEventListener('click', guard(() => logout(true)));
    // Two-factor authentication and account deletion (issue 18, mfa).
    $('mfa-step-form').addEventListener('submit', guard(verifyCode));
    $('mfa-cancel').addEventListener('click', guard(async () => cancelCode()));
    $('mfa-start').addEventListener('click', guard(startMfa));
    $('mfa-confirm-form').addEventListener('submit', guard(confirmMfa));
    $('mfa-remove-form').addEventListener('submit', guard(removeMfa));
    $('delete-form').addEventListener('submit', guard(deleteAccount));
    // Account recovery and email verification (issue 18 part A).
    $('forgot-form').addEventListener('submit', guard(sendReset));
    $('reset-form').addEventListener('submit', guard(setNewPassword));
    $('resend-verification').addEventListener('click', guard(resendVerification));
    followMailedLink().then(
      (ownPage) => {
        if (ownPage) return;
        const note = $('status').textContent;
        // Restore the session after a reload through the refresh cookie.
        refresh().then(
          (ok) => (ok ? showSignedIn() : showSignedOut(note === 'Loading…' ? 'Not signed in.' : note)),
          () => showSignedOut('Not signed in.'),
        );
      },
      () => say('Something went wrong; please try again.', true),
    );
  });
})();
