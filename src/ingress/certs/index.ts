/**
 * Automatic certificates for Ingress TLS hosts (cert-manager's ingress-shim + CA issuer): see
 * controller.ts for the controller, decide.ts for the annotations and renewal rules, issue.ts for
 * the signer.
 */
export { CertificateController, CERTIFICATE_CONTROLLER_NAME, type CertificateControllerOptions } from './controller.js';
export {
  CA_SECRET_ANNOTATION,
  CERT_MANAGER_CLUSTER_ISSUER_ANNOTATION,
  CLUSTER_CA_ISSUER,
  CLUSTER_ISSUER_ANNOTATION,
  DEFAULT_DURATION_MS,
  DEFAULT_RENEW_FRACTION,
  DURATION_ANNOTATION,
  SECRET_ANNOTATIONS,
  buildSecret,
  checkRenewal,
  issuerRefOf,
  needsRenewal,
  parseDuration,
  planIngress,
  renewalTime,
  type CertRequest,
  type IngressPlan,
  type IssuerRef,
  type RenewalDecision,
  type WantCert,
} from './decide.js';
export { checkIssuer, issueCertificate, normalizeHosts, readClusterCA, type CertIssuer, type IssueRequest, type IssuedCertificate } from './issue.js';
