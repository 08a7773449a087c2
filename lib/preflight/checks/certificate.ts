/** The certificate exists, is issued, and lives in the deploy's region and account (a load balancer uses only those). */
import { DescribeCertificateCommand } from '@aws-sdk/client-acm';
import { fail, ok, PreflightCheck, skip } from '../check';

const CHECK = 'certificate';

export const certificate: PreflightCheck = {
  name: CHECK,
  permissions: ['acm:DescribeCertificate'],
  async run(input) {
    const arn = input.settings.certificateArn;
    if (arn === undefined)
      return skip(CHECK, 'no certificateArn: plain HTTP on port 80');
    // arn:<partition>:acm:<region>:<account>:certificate/<id>, as parseSettings accepts it.
    const [, , , region, account] = arn.split(':');
    if (region !== input.region)
      return fail(
        CHECK,
        `the certificate is in ${region}, the deploy goes to ${input.region}`,
        `request or import a certificate in ACM in ${input.region}, or deploy to ${region} (AWS_REGION or --region)`,
      );
    if (account !== input.account)
      return fail(
        CHECK,
        `the certificate belongs to account ${account}, the credentials to ${input.account}`,
        `use a certificate of account ${input.account}, or credentials of ${account}`,
      );
    let described;
    try {
      described = await input.clients.acm.send(
        new DescribeCertificateCommand({ CertificateArn: arn }),
      );
    } catch (err) {
      if ((err as { name?: unknown })?.name !== 'ResourceNotFoundException')
        throw err;
      return fail(
        CHECK,
        `no certificate ${arn.split('/')[1]} in ${region}`,
        `check the ARN (aws acm list-certificates --region ${region})`,
      );
    }
    const status = described.Certificate?.Status;
    const domain = described.Certificate?.DomainName ?? 'unknown domain';
    if (status !== 'ISSUED')
      return fail(
        CHECK,
        `${domain}: ${status ?? 'no status'}, not ISSUED`,
        status === 'PENDING_VALIDATION'
          ? 'finish its DNS validation (the CNAME record ACM shows) and wait for ISSUED'
          : 'request a new certificate in ACM and use its ARN',
      );
    return ok(CHECK, `${domain}: ISSUED, in ${region}`);
  },
};
