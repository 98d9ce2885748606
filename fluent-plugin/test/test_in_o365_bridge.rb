# frozen_string_literal: true
# Unit tests with Fluentd's own test driver (Fluent::Test::Driver::Input) and a fake bridge
# (test/fake_bridge.rb). Run: rake test, or
#   ruby -Ilib -I<fluentd>/lib -I<serverengine>/lib test/test_in_o365_bridge.rb
require 'test/unit'
require 'fluent/test'
require 'fluent/test/driver/input'
require 'fluent/test/helpers'
require 'fluent/plugin/in_o365_bridge'
require 'json'
require 'tmpdir'

class O365BridgeInputTest < Test::Unit::TestCase
  include Fluent::Test::Helpers

  FAKE = File.expand_path('fake_bridge.rb', __dir__)
  TENANT = '11111111-2222-3333-4444-555555555555'
  CLIENT = '11111111-2222-3333-4444-555555555556'

  setup do
    Fluent::Test.setup
    @dir = Dir.mktmpdir('o365-bridge-test-')
    @report = File.join(@dir, 'report.json')
  end

  teardown do
    FileUtils.rm_rf(@dir)
  end

  def create_driver(conf)
    Fluent::Test::Driver::Input.new(Fluent::Plugin::O365BridgeInput).configure(conf)
  end

  def fake_command
    "#{RbConfig.ruby} #{FAKE}"
  end

  def inline_conf(extra = '')
    %(
      command #{fake_command}
      check_config false
      state_dir #{@dir}/state
      format ecs
      <tenant>
        id #{TENANT}
        client_id #{CLIENT}
        client_secret Very-Secret-Value-1234
        cloud gccHigh
        content_types Audit.General,DLP.All
      </tenant>
      <poll>
        interval_seconds 300
      </poll>
      <sink>
        max_batch_events 500
      </sink>
      #{extra}
    )
  end

  def report
    JSON.parse(File.read(@report))
  end

  def with_env(vars)
    old = vars.keys.to_h { |k| [k, ENV[k]] }
    vars.each { |k, v| ENV[k] = v }
    yield
  ensure
    old.each { |k, v| ENV[k] = v }
  end

  sub_test_case 'configure' do
    test 'inline sections map one to one onto the bridge config; the secret goes to the environment only' do
      d = create_driver(inline_conf)
      cfg = d.instance.bridge_config
      assert_equal "#{@dir}/state", cfg['stateDir']
      assert_equal 'ecs', cfg['format']
      assert_equal [{ 'id' => TENANT, 'clientId' => CLIENT, 'clientSecret' => { 'env' => 'O365_BRIDGE_SECRET_0' }, 'cloud' => 'gccHigh', 'contentTypes' => ['Audit.General', 'DLP.All'] }], cfg['tenants']
      assert_equal({ 'intervalSeconds' => 300 }, cfg['poll'])
      assert_equal({ 'maxBatchEvents' => 500 }, cfg['sink'])
      assert_equal({ 'O365_BRIDGE_SECRET_0' => 'Very-Secret-Value-1234' }, d.instance.child_env)
      refute(d.instance.argv.any? { |a| a.include?('Very-Secret') }, 'no secret on the command line')
      file = d.instance.argv[d.instance.argv.index('--config') + 1]
      assert_equal 0o600, File.stat(file).mode & 0o777
      assert_equal 0o700, File.stat(File.dirname(file)).mode & 0o777
      refute_match(/Very-Secret/, File.read(file), 'no secret in the file either')
      assert_equal JSON.parse(File.read(file)), cfg
      assert_equal %w[run --config] + [file] + %w[--sink stdio --tag-prefix o365], d.instance.argv.last(7)
    end

    test 'client_secret_env and client_secret_file are references, relative paths made absolute' do
      d = create_driver(%(
        command #{fake_command}
        check_config false
        state_dir state
        <tenant>
          id #{TENANT}
          client_id #{CLIENT}
          client_secret_file secret.txt
        </tenant>
        <tenant>
          id #{CLIENT}
          client_id #{TENANT}
          client_secret_env MY_SECRET
          <certificate>
            key_file k.pem
            cert_file c.pem
          </certificate>
        </tenant>
        <http>
          ca_file ca.pem
        </http>
      ))
      cfg = d.instance.bridge_config
      assert_equal File.expand_path('state'), cfg['stateDir']
      assert_equal({ 'file' => File.expand_path('secret.txt') }, cfg['tenants'][0]['clientSecret'])
      assert_equal({ 'env' => 'MY_SECRET' }, cfg['tenants'][1]['clientSecret'])
      assert_equal({ 'keyFile' => File.expand_path('k.pem'), 'certFile' => File.expand_path('c.pem') }, cfg['tenants'][1]['certificate'])
      assert_equal({ 'caFile' => File.expand_path('ca.pem') }, cfg['http'])
      assert_empty d.instance.child_env
    end

    test 'config_path: the user file is run as it is, with --sink stdio and the tag prefix' do
      d = create_driver(%(command #{fake_command}\ncheck_config false\nconfig_path #{@dir}/bridge.yaml\ntag_prefix acme.o365))
      assert_nil d.instance.bridge_config
      assert_equal ['run', '--config', "#{@dir}/bridge.yaml", '--sink', 'stdio', '--tag-prefix', 'acme.o365'], d.instance.argv.last(7)
    end

    data(
      'both config_path and inline' => ["config_path /x.yaml\n<tenant>\nid #{TENANT}\nclient_id #{CLIENT}\n</tenant>", /either config_path or inline/],
      'neither' => ['', /config_path .* or at least one <tenant>/],
      'inline without state_dir' => ["<tenant>\nid #{TENANT}\nclient_id #{CLIENT}\n</tenant>", /state_dir is required/],
      'a secret given twice' => ["state_dir /s\n<tenant>\nid #{TENANT}\nclient_id #{CLIENT}\nclient_secret abcdefgh\nclient_secret_env X\n</tenant>", /one of the value, _env or _file/],
      'an empty secret' => ["state_dir /s\n<tenant>\nid #{TENANT}\nclient_id #{CLIENT}\nclient_secret \"\"\n</tenant>", /client_secret is empty/],
      'an enum the schema does not list' => ["state_dir /s\n<tenant>\nid #{TENANT}\nclient_id #{CLIENT}\ncloud azure\n</tenant>", /azure/],
      'a bad tag prefix' => ["tag_prefix Bad-Prefix\nconfig_path /x.yaml", /tag_prefix/],
      'a tenant without its required id' => ["state_dir /s\n<tenant>\nclient_id #{CLIENT}\n</tenant>", /'id' parameter is required/]
    )
    test 'refuses' do |(conf, message)|
      e = assert_raise(Fluent::ConfigError) { create_driver("command #{fake_command}\ncheck_config false\n#{conf}") }
      assert_match message, e.message
    end

    test "check_config runs the bridge's check-config and reports its problems as a config error" do
      with_env('FAKE_CHECK' => 'fail', 'FAKE_REPORT' => @report) do
        e = assert_raise(Fluent::ConfigError) { create_driver(inline_conf.sub('check_config false', '')) }
        assert_match(/the bridge refused its config.*<source @type o365_bridge>: tenants\[0\]\.clientId: expected a GUID/m, e.message)
      end
    end

    test 'a command that does not exist is a config error naming it' do
      e = assert_raise(Fluent::ConfigError) { create_driver(inline_conf.sub("command #{fake_command}", 'command /nonexistent/o365-fluent-bridge').sub('check_config false', '')) }
      assert_match %r{cannot run "/nonexistent/o365-fluent-bridge"}, e.message
    end

    test 'the plugin refuses multi-worker mode outside <worker N> (one state directory, one owner)' do
      d = create_driver(inline_conf)
      assert_false d.instance.multi_workers_ready?
    end
  end

  sub_test_case 'running' do
    test 'emits the packets with their tags and EventTime, acks each after emit_stream, maps log levels' do
      with_env('FAKE_MODE' => 'send', 'FAKE_REPORT' => @report) do
        d = create_driver(inline_conf + "\n@log_level debug")
        d.run(expect_emits: 2, timeout: 20)
        assert_equal 4, d.events.size
        assert_equal %w[o365.audit.general.x o365.audit.general.x o365.audit.exchange.y o365.audit.exchange.y], d.events.map(&:first)
        t = d.events[0][1]
        assert_kind_of Fluent::EventTime, t
        assert_equal [1_700_000_000, 123_456_789], [t.sec, t.nsec]
        assert_equal({ 'Id' => 'o365.audit.general.x-0', 'n' => 0 }, d.events[0][2])
        sleep 0.1 until File.exist?(@report) && report['acks'].size == 2
        assert_equal %w[chunk-0 chunk-1], report['acks']
        assert_equal({ 'O365_BRIDGE_SECRET_0' => 'Very-Secret-Value-1234' }, report['secret_env'])
        logs = d.logs.join
        assert_match(/\[info\]: o365-fluent-bridge: started tenants=1/, logs)
        assert_match(/\[warn\]: o365-fluent-bridge: delivery failed, will retry attempt=1/, logs)
        assert_match(/\[debug\]: o365-fluent-bridge: a debug line/, logs)
        assert_match(/\[error\]: o365-fluent-bridge: error SOMETHING: a plain line/, logs)
        refute_match(/Very-Secret/, logs)
      end
    end

    test 'an emit that raises (e.g. a full buffer) is not acknowledged; the next one is' do
      with_env('FAKE_MODE' => 'send', 'FAKE_REPORT' => @report, 'FAKE_TAGS' => 'o365.refused,o365.taken') do
        d = create_driver(inline_conf)
        real = d.instance.router
        refusing = Object.new
        refusing.define_singleton_method(:emit_stream) do |tag, es|
          raise Fluent::Plugin::Buffer::BufferOverflowError, 'buffer space has too many data' if tag == 'o365.refused'

          real.emit_stream(tag, es)
        end
        d.instance.define_singleton_method(:router) { refusing }
        d.run(expect_emits: 1, timeout: 20) { sleep 0.1 until File.exist?(@report) && report['acks'].size == 1 }
        assert_equal %w[o365.taken o365.taken], d.events.map(&:first)
        assert_equal %w[chunk-1], report['acks']
        assert_match(/emit failed; batch not acknowledged, the bridge sends it again tag="o365.refused"/, d.logs.join)
      end
    end

    test 'a child that exits is restarted, each wait twice the one before, up to the maximum' do
      with_env('FAKE_MODE' => 'exit', 'FAKE_REPORT' => @report) do
        d = create_driver(inline_conf + "\nrestart_backoff_min 0.1\nrestart_backoff_max 0.4")
        d.run(timeout: 60) { sleep 0.05 until d.instance.restarts >= 4 }
        waits = d.logs.join.scan(/exited \(exit code 3\); restarting in ([\d.]+)s/).flatten.map(&:to_f)
        assert_operator waits.size, :>=, 4
        assert_equal [0.1, 0.2, 0.4, 0.4], waits.first(4)
        assert_match(/\[error\]: o365-fluent-bridge: tenant pass failed code="AUTH_FAILED"/, d.logs.join)
      end
    end

    test 'a child that ignores SIGTERM is killed after stop_timeout (the source never hangs)' do
      with_env('FAKE_MODE' => 'stubborn', 'FAKE_REPORT' => @report) do
        d = create_driver(inline_conf + "\nstop_timeout 0.5")
        pid = nil
        d.run(timeout: 20) { sleep 0.05 until (pid = d.instance.child_pid) && d.logs.join.include?('o365-fluent-bridge: started') }
        assert_true report['term'], 'SIGTERM first'
        assert_match(/did not stop within 0.5s; killing it/, d.logs.join)
        assert_raise(Errno::ESRCH) { Process.kill(0, pid) }
      end
    end

    test 'stopping the source sends SIGTERM to the child and waits for it' do
      with_env('FAKE_MODE' => 'term', 'FAKE_REPORT' => @report) do
        d = create_driver(inline_conf)
        d.run(timeout: 20) { sleep 0.05 until d.instance.child_pid && d.logs.join.include?('o365-fluent-bridge: started') }
        assert_true report['term'], 'the child got SIGTERM'
        assert_nil d.instance.child_pid
        assert_no_match(/restarting/, d.logs.join)
      end
    end
  end
end
