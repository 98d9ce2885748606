# frozen_string_literal: true
# A stand-in for o365-fluent-bridge in the plugin's unit tests: speaks the stdio sink's side of the
# protocol (PackedForward on stdout, acks on stdin, JSON log lines on stderr). What it saw goes to
# FAKE_REPORT as JSON when stdin closes or SIGTERM arrives. FAKE_MODE picks the behaviour:
#   send   two packets (tags from FAKE_TAGS), then wait for acks and stdin's end
#   exit   log an error and exit 3 at once (for the restart backoff)
#   term   wait; on SIGTERM record it and exit 0
#   stubborn  ignore SIGTERM (record it), so only SIGKILL ends it
require 'json'
require 'msgpack'
require 'time'

mode = ENV.fetch('FAKE_MODE', 'send')
report = ENV.fetch('FAKE_REPORT')
seen = { 'argv' => ARGV, 'secret_env' => ENV.select { |k, _| k.start_with?('O365_BRIDGE_SECRET_') }, 'acks' => [], 'term' => false }
write_report = -> { File.write(report, JSON.generate(seen)) }

if ARGV[0] == 'check-config'
  if ENV['FAKE_CHECK'] == 'fail'
    warn "#{ARGV[1]}: tenants[0].clientId: expected a GUID; found \"nope\""
    warn '1 problem (CONFIG_INVALID)'
    exit 2
  end
  puts 'ok'
  exit 0
end

$stdout.binmode
$stdout.sync = true
log = ->(level, msg, extra = {}) { $stderr.puts(JSON.generate({ time: Time.now.utc.iso8601, level: level, msg: msg }.merge(extra))) }

# EventTime (ext type 0) written by hand, as the bridge's packet builder does.
event_time = ->(sec, nsec) { [0xd7, 0x00, sec, nsec].pack('CCNN') }

case mode
when 'exit'
  log.call('error', 'tenant pass failed', code: 'AUTH_FAILED')
  write_report.call
  exit 3
when 'stubborn'
  # Ignores SIGTERM (a bridge stuck waiting): only the plugin's SIGKILL after stop_timeout ends it.
  Signal.trap('TERM') { seen['term'] = true; write_report.call }
  log.call('info', 'started')
  sleep
when 'term'
  Signal.trap('TERM') { seen['term'] = true; write_report.call; exit 0 }
  log.call('info', 'started')
  $stdin.read # until the parent closes it
  write_report.call
  exit 0
else
  tags = ENV.fetch('FAKE_TAGS', 'o365.audit.general.x,o365.audit.exchange.y').split(',')
  log.call('info', 'started', tenants: 1)
  log.call('warn', 'delivery failed, will retry', attempt: 1)
  log.call('debug', 'a debug line')
  $stderr.puts 'error SOMETHING: a plain line'
  tags.each_with_index do |tag, i|
    entries = (0..1).map { |k| "\x92".b + event_time.call(1_700_000_000 + k, 123_456_789) + MessagePack.pack({ 'Id' => "#{tag}-#{k}", 'n' => k }) }.join
    chunk = "chunk-#{i}"
    $stdout.write("\x93".b + MessagePack.pack(tag) + "\xc6".b + [entries.bytesize].pack('N') + entries + MessagePack.pack({ 'chunk' => chunk, 'size' => 2 }))
  end
  Signal.trap('TERM') { seen['term'] = true; write_report.call; exit 0 }
  u = MessagePack::Unpacker.new($stdin)
  begin
    u.each { |m| seen['acks'] << m['ack']; write_report.call }
  rescue EOFError
    nil
  end
  write_report.call
end
