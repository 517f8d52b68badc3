/**
 * The Hub's users: real Unix users (ui-tests/servers/hub.mjs creates them), each logging in with
 * the DummyAuthenticator's one password.
 */
export const HUB_USERS = ['ddp-ui-alice', 'ddp-ui-bob'] as const;
export type HubUser = (typeof HUB_USERS)[number];
export const HUB_PASSWORD = 'ddp-ui-hub-password';
