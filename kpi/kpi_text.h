/*
 * kpi_text.h — rules about text that every export shares.
 *
 * A spreadsheet runs a cell whose text begins with =, +, -, @, tab or
 * carriage return as a formula (OWASP "CSV injection"): a customer named
 * =HYPERLINK(...) would run in whoever opens the export. Every CSV cell
 * (api/api_csv.c), XLSX answer (api/api_xlsx.c) and XLSX report
 * (reports/rpt_xlsx.c) asks this one function which text cells to
 * neutralise, so that the rule cannot drift between them.
 */
#ifndef KPID_KPI_TEXT_H
#define KPID_KPI_TEXT_H

#include <stdbool.h>

/* true when a text cell starting with byte c would run as a formula. */
bool kpi_text_formula_start(char c);

#endif
