#ifndef VIGIL_COPENSSL_SHIM_H
#define VIGIL_COPENSSL_SHIM_H
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/err.h>
#include <openssl/core_names.h>

/* OpenSSL 3 looks an algorithm up by name, under a lock, on every implicit use
   (EVP_aes_256_gcm(), HMAC(), SHA256()). Vigil fetches each once; these build the one
   HMAC-SHA256 context that every MAC is duplicated from, key-less. */
static inline EVP_MAC_CTX *vigil_hmac_sha256_template(void) {
    EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (mac == NULL) return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(mac);
    EVP_MAC_free(mac);
    if (ctx == NULL) return NULL;
    char digest[] = "SHA256";
    OSSL_PARAM params[2] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end() };
    if (EVP_MAC_CTX_set_params(ctx, params) != 1) { EVP_MAC_CTX_free(ctx); return NULL; }
    return ctx;
}
#endif
