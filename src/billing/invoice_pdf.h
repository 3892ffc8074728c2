/*
 * invoice_pdf.h — an invoice as a one-page A4 PDF, laid out with pango and
 * drawn by cairo (no PDF written by hand).
 */
#ifndef IAM_BILLING_INVOICE_PDF_H
#define IAM_BILLING_INVOICE_PDF_H

#include <stddef.h>

#include "store/billing.h"

/* "29.00" style amount of minor units into out. */
void invoice_money(int64_t minor, char *out, size_t outlen);

/*
 * Render inv (plan_name and org_name as shown; any text, never markup).
 * Returns the PDF bytes (caller frees with free()) and *len, or NULL.
 */
char *invoice_pdf(const struct invoice *inv, const char *plan_name, const char *org_name,
		  size_t *len);

#endif
