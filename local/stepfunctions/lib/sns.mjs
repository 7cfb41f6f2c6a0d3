// The Step Functions integration arn:aws:states:::sns:publish (request-response), which the
// interpreter lacks: an SNS Publish call (query API over HTTP) to the run's --endpoint, its
// answer shaped like the one Step Functions gives, its errors named like Step Functions names them.
import { REGION } from './definition.mjs';
import { InvocationError } from './runtime-api.mjs';

const API_VERSION = '2010-03-31';

// Sent as they are when given (as JSON when they are not strings).
const STRING_PARAMETERS = ['Subject', 'MessageStructure', 'MessageGroupId', 'MessageDeduplicationId'];

// The response headers Step Functions reports under SdkHttpMetadata, as the Java SDK spells them.
const REPORTED_HEADERS = {
  'content-length': 'Content-Length',
  'content-type': 'Content-Type',
  date: 'Date',
  'x-amzn-requestid': 'x-amzn-RequestId',
};

/** The SNS error `code` as a Step Functions error name: NotFound -> SNS.NotFoundException. */
const snsErrorName = (code) => `SNS.${code.endsWith('Exception') ? code : `${code}Exception`}`;

/** The region of a topic ARN; moto keeps topics per region, so the request must name that one. */
const regionOf = (topicArn) => /^arn:aws[\w-]*:sns:([\w-]+):/.exec(topicArn)?.[1] ?? REGION;

// Step Functions serializes a JSON Message (object, array...) the way JSON.stringify does.
const asString = (value) => (typeof value === 'string' ? value : JSON.stringify(value));

const invalid = (message) => new InvocationError(snsErrorName('InvalidParameter'), message);

/**
 * The Publish form for the state's resolved Parameters. Checks locally what moto answers with a
 * bare HTTP 500 (no TopicArn, no Message), so that those fail like a parameter error instead.
 */
function publishForm(params) {
  const { TopicArn: topicArn, Message: message, MessageAttributes: attributes } = params ?? {};
  if (typeof topicArn !== 'string' || topicArn === '') throw invalid('Invalid parameter: TopicArn (a topic ARN string is required)');
  if (message === undefined || message === null) throw invalid('Invalid parameter: Message (a value is required)');

  const form = new URLSearchParams({ Action: 'Publish', Version: API_VERSION, TopicArn: topicArn, Message: asString(message) });
  for (const name of STRING_PARAMETERS) {
    if (params[name] !== undefined && params[name] !== null) form.append(name, asString(params[name]));
  }
  if (attributes !== undefined) {
    if (!attributes || typeof attributes !== 'object' || Array.isArray(attributes)) {
      throw invalid('Invalid parameter: MessageAttributes (an object of name -> {DataType, StringValue|BinaryValue})');
    }
    // The query API's map encoding: MessageAttributes.entry.N.Name / .Value.<field>.
    Object.entries(attributes).forEach(([name, value], i) => {
      const prefix = `MessageAttributes.entry.${i + 1}`;
      form.append(`${prefix}.Name`, name);
      for (const field of ['DataType', 'StringValue', 'BinaryValue']) {
        if (value?.[field] !== undefined) form.append(`${prefix}.Value.${field}`, asString(value[field]));
      }
    });
  }
  return { form, region: regionOf(topicArn) };
}

const XML_ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text) {
  return text.replace(/&(#x[0-9a-f]+|#\d+|\w+);/gi, (entity, name) => {
    if (name[0] === '#') {
      const code = name[1].toLowerCase() === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return String.fromCodePoint(code);
    }
    return XML_ENTITIES[name] ?? entity;
  });
}

/** The text of the first `<tag>` element in `xml` (the responses are small and flat enough). */
function element(xml, tag) {
  const match = new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml);
  return match ? unescapeXml(match[1]) : undefined;
}

/**
 * The SdkHttpMetadata Step Functions reports for an integration's answer: the `reported` headers
 * (lower-case name -> the Java SDK's spelling), and the HTTP status.
 */
export function httpMetadata(response, reportedHeaders = REPORTED_HEADERS) {
  const all = {};
  const single = {};
  for (const [name, value] of response.headers) {
    const reported = reportedHeaders[name];
    if (!reported) continue;
    all[reported] = [value];
    single[reported] = value;
  }
  return { AllHttpHeaders: all, HttpHeaders: single, HttpStatusCode: response.status };
}

/**
 * POSTs `body` to the AWS API at `endpoint` as `service` in `region`, for an integration of the
 * runner: `{url, response, text}`. A request that gets no answer rejects with
 * `<errorPrefix>.SdkClientException`, the name the Java SDK (and so Step Functions) gives it.
 */
export async function callService(endpoint, { service, region, headers, body, timeoutMs, errorPrefix }) {
  const url = endpoint.endsWith('/') ? endpoint : `${endpoint}/`;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        ...headers,
        // moto checks no signature; it reads the region and service from the credential scope.
        Authorization: `AWS4-HMAC-SHA256 Credential=test/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body,
      // Past the state's timeout nobody waits for the answer; do not leave the request open.
      signal: timeoutMs ? AbortSignal.timeout(timeoutMs) : undefined,
    });
    return { url, response, text: await response.text() };
  } catch (error) {
    throw new InvocationError(`${errorPrefix}.SdkClientException`, `Unable to execute HTTP request: ${error.cause?.message ?? error.message}`);
  }
}

/**
 * Publishes with the state's resolved Parameters to the SNS API at `endpoint`. Resolves with
 * what Step Functions returns (`MessageId`, `SdkHttpMetadata`, `SdkResponseMetadata`); rejects
 * with an InvocationError named like Step Functions' (SNS.NotFoundException, ...).
 */
export async function publish(endpoint, params, { timeoutMs } = {}) {
  const { form, region } = publishForm(params);
  const { url, response, text: body } = await callService(endpoint, {
    service: 'sns',
    region,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: form,
    timeoutMs,
    errorPrefix: 'SNS',
  });

  const code = element(body, 'Code');
  if (!response.ok || code) {
    if (code) throw new InvocationError(snsErrorName(code), element(body, 'Message') ?? '');
    // Not an SNS error document (moto's bare 500, a proxy...): SNS's generic error.
    const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 300);
    throw new InvocationError('SNS.AmazonSNSException', `HTTP ${response.status} from ${url}: ${text}`);
  }
  const messageId = element(body, 'MessageId');
  if (!messageId) {
    throw new InvocationError('SNS.AmazonSNSException', `no MessageId in the Publish response from ${url}: ${body.slice(0, 300)}`);
  }
  return {
    MessageId: messageId,
    SdkHttpMetadata: httpMetadata(response),
    SdkResponseMetadata: { RequestId: element(body, 'RequestId') ?? response.headers.get('x-amzn-requestid') },
  };
}
