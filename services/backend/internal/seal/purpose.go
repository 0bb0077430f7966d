package seal

// Purpose strings of backend.md §12.1. A purpose is bound into the
// ciphertext byte for byte, so callers build it only with these helpers:
// ids are passed in the text form PostgreSQL prints (lowercase canonical
// UUIDs; lowercase hex for state hashes and kids). Secret names are part of
// the purpose, which is why renaming a secret is not supported.
const (
	// PurposeKeyCheck protects settings.encryption_key_check.
	PurposeKeyCheck = "key_check"
	// KeyCheckPlaintext is the fixed plaintext of the key-check value.
	KeyCheckPlaintext = "mcpbox"
)

// PurposeServerSecret protects server_secrets.value_enc:
// "server_secret:<server_id>:<name>".
func PurposeServerSecret(serverID, name string) string {
	return "server_secret:" + serverID + ":" + name
}

// PurposeOAuthTokens protects external_mcp_sources.oauth_tokens_enc:
// "oauth_tokens:<source_id>".
func PurposeOAuthTokens(sourceID string) string { return "oauth_tokens:" + sourceID }

// PurposeOAuthClientSecret protects
// external_mcp_sources.oauth_client_secret_enc:
// "oauth_client_secret:<source_id>".
func PurposeOAuthClientSecret(sourceID string) string { return "oauth_client_secret:" + sourceID }

// PurposeOAuthFlowVerifier protects an oauth_flows PKCE verifier:
// "oauth_flow_verifier:<state_hash hex>".
func PurposeOAuthFlowVerifier(stateHashHex string) string {
	return "oauth_flow_verifier:" + stateHashHex
}

// PurposeOAuthFlowClientSecret protects an oauth_flows client secret:
// "oauth_flow_client_secret:<state_hash hex>".
func PurposeOAuthFlowClientSecret(stateHashHex string) string {
	return "oauth_flow_client_secret:" + stateHashHex
}

// PurposeJWTSigningKey protects signing_keys.private_key_enc:
// "jwt_signing_key:<kid>".
func PurposeJWTSigningKey(kid string) string { return "jwt_signing_key:" + kid }
