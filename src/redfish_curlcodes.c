/* redfish_curlcodes.c - what a failed libcurl transfer means (see
 * redfish_curlcodes.h). */
#include "autoconfig.h"
#include "redfish_curlcodes.h"

#include "clock.h"
#include "errors.h"

/* The bmc_err code for a failed transfer. */
int rf_curl_classify(CURLcode rc, bool oversized, bool deadline_bound,
                     double deadline)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        if (deadline_bound || clock_remaining(deadline) <= 0.0)
            return BMC_ERR_TIMEOUT;
        return BMC_ERR_CONNECTION_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST: return BMC_ERR_CONNECTION_TIMEOUT;
    case CURLE_WRITE_ERROR:
        return oversized ? BMC_ERR_PROTOCOL_ERROR : BMC_ERR_UNEXPECTED_ERROR;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_TOO_MANY_REDIRECTS: return BMC_ERR_PROTOCOL_ERROR;
    default: return BMC_ERR_UNEXPECTED_ERROR;
    }
}

/* Whether a transfer that failed with RC on C may have sent its request:
 * false only for failures that happen before any request byte goes out. */
bool rf_curl_maybe_sent(CURL *c, CURLcode rc)
{
    curl_off_t pretransfer = 0;

    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_FAILED_INIT: return false;
    case CURLE_OPERATION_TIMEDOUT:
        /* timed out while connecting: the transfer never began */
        return curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T,
                                 &pretransfer) != CURLE_OK ||
               pretransfer > 0;
    default: return true;
    }
}
