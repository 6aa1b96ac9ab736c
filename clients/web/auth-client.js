// lambda-jwt-auth browser client: one ES module, no dependencies, no build step.
//
// The access token lives in this module's memory only (never in storage, never in a cookie a
// script can read); the refresh token lives only in the HttpOnly cookie the API sets, so every
// request is made with `credentials: "include"`. `fetch` adds the Bearer header; on a 401 or
// 403 it refreshes once (one refresh in flight, shared by every concurrent call) and retries
// once. After a page reload the first call restores the session from the cookie.

/**
 * @typedef {object} AuthClientOptions
 * @property {string} baseUrl The API's base URL, e.g. "https://auth.example.com" ("" = this page's origin).
 * @property {typeof fetch} [fetch] The fetch to use (tests pass a fake); default: the global one.
 * @property {CredentialsContainer} [credentials] WebAuthn's `navigator.credentials` (tests pass a fake).
 * @property {(url: string) => void} [navigate] Sends the browser to a URL (a sign-in through a
 *   provider); default `location.assign`.
 */

/**
 * @typedef {object} LoginOptions
 * @property {string} [deviceId] A name for this device in the sessions list.
 */

/**
 * What `login` resolves to: signed in, or (TOTP on) waiting for the second factor, which
 * `loginMfa(mfaToken, code)` supplies within `expiresIn` seconds.
 * @typedef {{ mfaRequired: false, sessionId: string, expiresIn: number }
 *   | { mfaRequired: true, mfaToken: string, expiresIn: number }} LoginResult
 */

/**
 * @typedef {object} Session
 * @property {string} session_id
 * @property {string} device_id
 * @property {string} created_at
 * @property {string} last_used_at
 * @property {string} expires_at
 * @property {boolean} current
 */

/** An answer of the API other than success: `status`, and the contract's `error` code. */
export class AuthError extends Error {
  /**
   * @param {number} status
   * @param {string} error
   * @param {string} description
   */
  constructor(status, error, description) {
    super(description || error || `HTTP ${status}`);
    this.name = "AuthError";
    this.status = status;
    this.error = error;
  }

  /** @param {Response} resp */
  static async from(resp) {
    let body = {};
    try {
      body = await resp.json();
    } catch {
      // Not the contract's JSON (a gateway error): the status says enough.
    }
    return new AuthError(resp.status, body.error || "", body.error_description || "");
  }
}

// WebAuthn's JSON forms (Level 3): the API sends options as
// PublicKeyCredential{Creation,Request}OptionsJSON and takes `PublicKeyCredential.toJSON()`.
// Browsers that lack `parse*OptionsFromJSON` / `toJSON()` get the same conversion by hand.

/** @param {ArrayBuffer | ArrayBufferView} buf */
export function base64urlEncode(buf) {
  const bytes = buf instanceof ArrayBuffer ? new Uint8Array(buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** @param {string} text */
export function base64urlDecode(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes.buffer;
}

/** @param {{ id: string }[] | undefined} list */
const descriptors = (list) => (list || []).map((c) => ({ ...c, id: base64urlDecode(c.id) }));

/**
 * PublicKeyCredentialCreationOptionsJSON → the options `navigator.credentials.create` takes.
 * @param {any} json
 */
export function creationOptionsFromJSON(json) {
  const PKC = globalThis.PublicKeyCredential;
  if (PKC && typeof PKC.parseCreationOptionsFromJSON === "function") {
    return PKC.parseCreationOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: base64urlDecode(json.challenge),
    user: { ...json.user, id: base64urlDecode(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

/**
 * PublicKeyCredentialRequestOptionsJSON → the options `navigator.credentials.get` takes.
 * @param {any} json
 */
export function requestOptionsFromJSON(json) {
  const PKC = globalThis.PublicKeyCredential;
  if (PKC && typeof PKC.parseRequestOptionsFromJSON === "function") {
    return PKC.parseRequestOptionsFromJSON(json);
  }
  return {
    ...json,
    challenge: base64urlDecode(json.challenge),
    ...(json.allowCredentials ? { allowCredentials: descriptors(json.allowCredentials) } : {}),
  };
}

/**
 * A PublicKeyCredential (registration or assertion) as its `toJSON()` would give it.
 * @param {any} cred
 */
export function credentialToJSON(cred) {
  if (typeof cred.toJSON === "function") return cred.toJSON();
  const r = cred.response;
  const response = { clientDataJSON: base64urlEncode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = base64urlEncode(r.attestationObject);
    response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
  } else {
    response.authenticatorData = base64urlEncode(r.authenticatorData);
    response.signature = base64urlEncode(r.signature);
    response.userHandle = r.userHandle ? base64urlEncode(r.userHandle) : null;
  }
  return {
    id: cred.id,
    rawId: base64urlEncode(cred.rawId),
    type: cred.type,
    response,
    authenticatorAttachment: cred.authenticatorAttachment ?? null,
    clientExtensionResults:
      typeof cred.getClientExtensionResults === "function" ? cred.getClientExtensionResults() : {},
  };
}

/**
 * @param {AuthClientOptions} options
 */
export function createAuthClient({
  baseUrl,
  fetch: fetchImpl,
  credentials: credentialsImpl,
  navigate: navigateImpl,
}) {
  const doFetch = fetchImpl || ((input, init) => globalThis.fetch(input, init));
  const navigate = navigateImpl || ((to) => globalThis.location.assign(to));
  const webauthn = () => {
    const c = credentialsImpl || globalThis.navigator?.credentials;
    if (!c || (!credentialsImpl && !globalThis.PublicKeyCredential)) {
      throw new AuthError(0, "passkeys_unsupported", "This browser has no WebAuthn (passkeys).");
    }
    return c;
  };
  const base = String(baseUrl || "").replace(/\/+$/, "");
  /** @type {string | null} */
  let accessToken = null;
  /** @type {Promise<boolean> | null} */
  let refreshing = null;

  /** @param {string} path */
  const url = (path) => (path.startsWith("/") && !path.startsWith("//") ? base + path : path);

  // Where the access token (and the credentials) may go: URLs under `baseUrl`, or with no
  // `baseUrl` this page's origin. A bearer token sent anywhere else is a token given away.
  const scope = (() => {
    try {
      if (base) return new URL(`${base}/`);
      if (globalThis.location) return new URL("/", globalThis.location.href);
    } catch {
      // An unusable baseUrl: nothing is in scope.
    }
    return null;
  })();

  /** @param {RequestInfo | URL} target */
  function inScope(target) {
    const raw =
      typeof target === "string" ? target : target instanceof URL ? target.href : target.url;
    if (!scope) {
      // No base and no page (a test, a worker without location): same-origin paths only.
      return !base && raw.startsWith("/") && !raw.startsWith("//") && !raw.startsWith("/\\");
    }
    let resolved;
    try {
      resolved = new URL(raw, scope);
    } catch {
      return false;
    }
    return resolved.origin === scope.origin && resolved.pathname.startsWith(scope.pathname);
  }

  /**
   * @param {string} path
   * @param {object} [body]
   */
  const post = (path, body) =>
    doFetch(url(path), {
      method: "POST",
      credentials: "include",
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });

  /** @param {Response} resp */
  async function signedIn(resp) {
    if (!resp.ok) throw await AuthError.from(resp);
    const body = await resp.json();
    accessToken = body.access_token;
    return { mfaRequired: false, sessionId: body.session_id, expiresIn: body.expires_in };
  }

  /**
   * A login's answer: signed in, or a 403 `mfa_required` with the pending login's token.
   * @param {Response} resp
   * @returns {Promise<LoginResult>}
   */
  async function loginAnswer(resp) {
    if (resp.status === 403) {
      const body = await resp
        .clone()
        .json()
        .catch(() => ({}));
      if (body.error === "mfa_required" && typeof body.mfa_token === "string") {
        return { mfaRequired: true, mfaToken: body.mfa_token, expiresIn: body.expires_in };
      }
    }
    return signedIn(resp);
  }

  /**
   * A JSON request with the access token (the account routes).
   * @param {string} method
   * @param {string} path
   * @param {object} body
   */
  const authJson = (method, path, body) =>
    authFetch(path, {
      method,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  /**
   * Trades the refresh cookie for a new access token. Concurrent callers share one request;
   * a refused refresh clears the access token and resolves `false` (never throws).
   * @returns {Promise<boolean>}
   */
  function refresh() {
    if (!refreshing) {
      refreshing = (async () => {
        try {
          const resp = await post("/auth/refresh");
          if (!resp.ok) {
            accessToken = null;
            return false;
          }
          await signedIn(resp);
          return true;
        } catch {
          accessToken = null;
          return false;
        }
      })().finally(() => {
        refreshing = null;
      });
    }
    return refreshing;
  }

  /**
   * @param {RequestInfo | URL} input
   * @param {RequestInit} init
   * @param {string | null} token
   */
  function send(input, init, token) {
    const headers = new Headers(init.headers || {});
    if (token) headers.set("authorization", `Bearer ${token}`);
    return doFetch(resolve(input), { ...init, headers, credentials: "include" });
  }

  /** @param {RequestInfo | URL} input */
  const resolve = (input) => (typeof input === "string" ? url(input) : input);

  /**
   * Whether `resp` refused the access token (API Gateway's 401/403, or `invalid_token`), as
   * opposed to the request: a wrong password or code is answered, never re-sent (each
   * try counts against the account's lockout).
   * @param {Response} resp
   */
  async function tokenRefused(resp) {
    if (resp.status !== 401 && resp.status !== 403) return false;
    const body = await resp
      .clone()
      .json()
      .catch(() => ({}));
    return !body || typeof body.error !== "string" || body.error === "invalid_token";
  }

  /**
   * `fetch` with the access token: on 401/403, one refresh (shared) and one retry. The
   * request's body must be re-sendable (a string, FormData, Blob...), not a stream. Only a
   * URL under `baseUrl` gets the token; any other is fetched as it is.
   * @param {RequestInfo | URL} input
   * @param {RequestInit} [init]
   * @returns {Promise<Response>}
   */
  async function authFetch(input, init = {}) {
    // Not the API: a plain fetch, with neither the token nor the API's cookies.
    if (!inScope(resolve(input))) return doFetch(resolve(input), init);
    let refreshed = false;
    if (!accessToken) {
      // A fresh page: the session, if any, is in the cookie.
      refreshed = true;
      await refresh();
    }
    const used = accessToken;
    const resp = await send(input, init, used);
    if (!(await tokenRefused(resp))) return resp;
    if (accessToken !== used && accessToken) {
      // Another call refreshed meanwhile: retry with its token, no second refresh.
      return send(input, init, accessToken);
    }
    if (refreshed || !(await refresh())) return resp;
    return send(input, init, accessToken);
  }

  /**
   * Resolves for a 2xx (202 or 204: nothing to read), throws the API's error otherwise.
   * @param {Response} resp
   */
  async function done(resp) {
    if (!resp.ok) throw await AuthError.from(resp);
  }

  /** @param {Response} resp */
  async function json(resp) {
    if (!resp.ok) throw await AuthError.from(resp);
    return resp.json();
  }

  return {
    /**
     * Checks the password. With TOTP on, resolves `{ mfaRequired: true, mfaToken }` (no
     * session yet): finish with `loginMfa`.
     * @param {string} username
     * @param {string} password
     * @param {LoginOptions} [opts]
     * @returns {Promise<LoginResult>}
     */
    login: async (username, password, opts = {}) =>
      loginAnswer(
        await post("/auth/login", {
          username,
          password,
          ...(opts.deviceId ? { device_id: opts.deviceId } : {}),
        }),
      ),

    /**
     * Self sign-up (201: signed in at once). With `opts.email`, a verification link is mailed.
     * @param {string} username
     * @param {string} password
     * @param {LoginOptions & { email?: string }} [opts]
     */
    register: async (username, password, opts = {}) =>
      signedIn(
        await post("/auth/register", {
          username,
          password,
          ...(opts.deviceId ? { device_id: opts.deviceId } : {}),
          ...(opts.email ? { email: opts.email } : {}),
        }),
      ),

    /**
     * The second step of a login that answered `mfaRequired`: the authenticator's six digits,
     * or one of the recovery codes (anything that is not six digits is sent as one).
     * @param {string} mfaToken
     * @param {string} code
     */
    loginMfa: async (mfaToken, code) => {
      const digits = String(code).replace(/\s+/g, "");
      const factor = /^\d{6}$/.test(digits) ? { code: digits } : { recovery_code: String(code) };
      return signedIn(await post("/auth/login/mfa", { mfa_token: mfaToken, ...factor }));
    },

    /**
     * Starts TOTP enrolment (the password re-checked): the secret for an authenticator app,
     * as base32 and as an `otpauth://` URI (for a QR code). Off until `confirmTotp`.
     * @param {string} currentPassword
     * @returns {Promise<{ secret: string, otpauthUri: string }>}
     */
    enrollTotp: async (currentPassword) => {
      const body = await json(
        await authJson("POST", "/auth/mfa/totp", { current_password: currentPassword }),
      );
      return { secret: body.secret, otpauthUri: body.otpauth_uri };
    },

    /**
     * Turns TOTP on with a code from the app: resolves the ten recovery codes, shown once.
     * @param {string} code
     * @returns {Promise<string[]>}
     */
    confirmTotp: async (code) =>
      (await json(await authJson("POST", "/auth/mfa/totp/confirm", { code }))).recovery_codes,

    /**
     * Turns TOTP off: the password and a TOTP or recovery code.
     * @param {string} currentPassword
     * @param {string} code
     */
    disableTotp: async (currentPassword, code) =>
      done(
        await authJson("DELETE", "/auth/mfa/totp", { current_password: currentPassword, code }),
      ),

    /**
     * Ten new recovery codes for a TOTP code; the old ones stop working.
     * @param {string} code
     * @returns {Promise<string[]>}
     */
    regenerateRecoveryCodes: async (code) =>
      (await json(await authJson("POST", "/auth/mfa/recovery-codes", { code }))).recovery_codes,

    /** The signed-in user's account (`GET /auth/me`). */
    me: async () => json(await authFetch("/auth/me")),

    /**
     * Mails a verification link to a new address; it becomes the user's once verified.
     * @param {string} email
     * @param {string} currentPassword
     */
    changeEmail: async (email, currentPassword) =>
      done(await authJson("POST", "/auth/email", { email, current_password: currentPassword })),

    /**
     * Asks for a password-reset link. Resolves alike whether or not the address is known.
     * @param {string} email
     */
    forgotPassword: async (email) => done(await post("/auth/password/forgot", { email })),

    /**
     * Sets a new password with the token of a reset link (`#token=…` of its URL). Every
     * session of the user ends, this page's access token included.
     * @param {string} token
     * @param {string} newPassword
     */
    resetPassword: async (token, newPassword) => {
      await done(await post("/auth/password/reset", { token, new_password: newPassword }));
      accessToken = null;
    },

    /**
     * Verifies an address with the token of a verification link.
     * @param {string} token
     */
    verifyEmail: async (token) => done(await post("/auth/email/verify", { token })),

    /**
     * Ends this session (or every session of the user) and forgets the access token, even if
     * the API cannot be reached.
     * @param {{ allDevices?: boolean }} [opts]
     */
    logout: async ({ allDevices = false } = {}) => {
      accessToken = null;
      const resp = await post("/auth/logout", allDevices ? { all_devices: true } : undefined);
      if (!resp.ok) throw await AuthError.from(resp);
    },

    fetch: authFetch,

    /** @returns {Promise<Session[]>} */
    sessions: async () => (await json(await authFetch("/auth/sessions"))).sessions,

    /**
     * The signed-in user's passkeys.
     * @returns {Promise<{ passkey_id: string, name: string, created_at: string, last_used_at: string | null }[]>}
     */
    passkeys: async () => (await json(await authFetch("/auth/passkeys"))).passkeys,

    /**
     * Registers a passkey for the signed-in user (the browser asks for the authenticator and
     * its user verification). Resolves the new passkey.
     * @param {string} [name] Its label in the list ("laptop"); default "Passkey".
     * @returns {Promise<{ passkey_id: string, name: string, created_at: string }>}
     */
    registerPasskey: async (name) => {
      const options = await json(await authJson("POST", "/auth/passkeys/register/options", {}));
      const cred = await webauthn().create({ publicKey: creationOptionsFromJSON(options.publicKey) });
      return json(
        await authJson("POST", "/auth/passkeys/register", {
          challenge_id: options.challenge_id,
          credential: credentialToJSON(cred),
          ...(name ? { name } : {}),
        }),
      );
    },

    /**
     * Signs in with a passkey, no username: the browser offers the passkeys it holds for this
     * site. Resolves as `login` does when signed in (no second step: `amr` is hwk + mfa).
     * @param {LoginOptions} [opts]
     */
    loginWithPasskey: async (opts = {}) => {
      const options = await json(await post("/auth/passkeys/login/options", {}));
      const cred = await webauthn().get({ publicKey: requestOptionsFromJSON(options.publicKey) });
      return signedIn(
        await post("/auth/passkeys/login", {
          challenge_id: options.challenge_id,
          credential: credentialToJSON(cred),
          ...(opts.deviceId ? { device_id: opts.deviceId } : {}),
        }),
      );
    },

    /**
     * "Sign in with <provider>": sends the browser to the provider (through the API's
     * `/auth/oauth/{provider}/start`). It comes back to `redirectTo` (default: this page),
     * where `completeSignIn()` picks the session up.
     * @param {string} provider A provider id of the API's OIDC_PROVIDERS.
     * @param {{ redirectTo?: string }} [opts] A URL on an origin of OAUTH_REDIRECT_ALLOWLIST.
     */
    signInWith: (provider, { redirectTo } = {}) => {
      const back = redirectTo || globalThis.location.href.split("#")[0];
      navigate(
        url(
          `/auth/oauth/${encodeURIComponent(provider)}/start?redirect_to=${encodeURIComponent(back)}`,
        ),
      );
    },

    /**
     * On the page a provider sign-in (or link) came back to: `#error=CODE` in `hash` throws
     * `AuthError(0, CODE)`; otherwise one `/auth/refresh` picks the new session up from its
     * cookie (resolves whether there is one). The fragment is cleared either way.
     * @param {string} [hash] Default: this page's `location.hash`.
     * @returns {Promise<boolean>}
     */
    completeSignIn: async (hash = globalThis.location?.hash || "") => {
      const error = new URLSearchParams(hash.replace(/^#/, "")).get("error");
      if (hash && globalThis.history?.replaceState && globalThis.location) {
        globalThis.history.replaceState(null, "", globalThis.location.href.split("#")[0]);
      }
      if (error) {
        throw new AuthError(0, error, `The sign-in through the provider failed (${error}).`);
      }
      return refresh();
    },

    /**
     * Links an identity at `provider` to the signed-in user: the browser goes to the provider
     * and comes back to `redirectTo` (`#error=identity_taken` if it is another user's).
     * @param {string} provider
     * @param {{ redirectTo?: string }} [opts]
     */
    linkIdentity: async (provider, { redirectTo } = {}) => {
      const back = redirectTo || globalThis.location.href.split("#")[0];
      const body = await json(
        await authJson("POST", `/auth/oauth/${encodeURIComponent(provider)}/link`, {
          redirect_to: back,
        }),
      );
      navigate(body.authorize_url);
    },

    /**
     * Unlinks the user's identity at `provider` (409 `last_sign_in_method` if it is the
     * account's only way in).
     * @param {string} provider
     */
    unlinkIdentity: async (provider) =>
      done(
        await authFetch(`/auth/identities/${encodeURIComponent(provider)}`, { method: "DELETE" }),
      ),

    /** @param {string} passkeyId */
    deletePasskey: async (passkeyId) =>
      done(
        await authFetch(`/auth/passkeys/${encodeURIComponent(passkeyId)}`, { method: "DELETE" }),
      ),

    /** @param {string} sessionId */
    revokeSession: async (sessionId) => {
      const resp = await authFetch(`/auth/sessions/${encodeURIComponent(sessionId)}`, {
        method: "DELETE",
      });
      if (!resp.ok) throw await AuthError.from(resp);
    },

    /** Whether an access token is held in memory (not whether it is still valid). */
    get signedIn() {
      return accessToken !== null;
    },
  };
}
