// A real OpenID provider for the access tests: `oidc-provider` (npm) over https, with one
// client and accounts whose userinfo carries `ga4gh_passport_v1` (visas minted by
// federation.py). Its access tokens are its own (opaque, as it issues them for its userinfo
// endpoint), minted through its own models: the interactive login is skipped, nothing else.
//
// usage: node op.mjs OIDC_PROVIDER_DIR OUT_DIR CERT KEY PASSPORTS_JSON
// Writes OUT_DIR/op.json ({"issuer", "tokens": {account: token}}), then serves until killed.

import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [moduleDir, out, cert, key, passportsFile] = process.argv.slice(2);
const { default: Provider } = await import(
  pathToFileURL(path.join(moduleDir, 'node_modules/oidc-provider/lib/index.js')).href
);
const passports = JSON.parse(fs.readFileSync(passportsFile, 'utf8'));

const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
server.listen(0, '127.0.0.1', async () => {
  const issuer = `https://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'htsget-client',
      client_secret: 'htsget-client-secret',
      redirect_uris: ['https://client.example/callback'],
    }],
    scopes: ['openid', 'ga4gh_passport_v1'],
    claims: { openid: ['sub'], ga4gh_passport_v1: ['ga4gh_passport_v1'] },
    features: { devInteractions: { enabled: false } },
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, ga4gh_passport_v1: passports[id] ?? [] };
        },
      };
    },
  });
  provider.on('server_error', (_ctx, error) => console.error(error));
  server.on('request', provider.callback());

  const client = await provider.Client.find('htsget-client');
  const tokens = {};
  for (const accountId of Object.keys(passports)) {
    const grant = new provider.Grant({ accountId, clientId: client.clientId });
    grant.addOIDCScope('openid ga4gh_passport_v1');
    const grantId = await grant.save();
    const token = new provider.AccessToken({
      accountId,
      client,
      grantId,
      gty: 'authorization_code',
      scope: 'openid ga4gh_passport_v1',
    });
    tokens[accountId] = await token.save();
  }
  fs.writeFileSync(path.join(out, 'op.tmp'), JSON.stringify({ issuer, tokens }));
  fs.renameSync(path.join(out, 'op.tmp'), path.join(out, 'op.json'));
});
