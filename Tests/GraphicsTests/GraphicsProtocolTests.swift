import Graphics
import Testing

@Suite struct GraphicsProtocolTests {
    @Test func choicesParse() {
        #expect(GraphicsChoice("auto") == .auto)
        #expect(GraphicsChoice("sixel") == .forced(.sixel))
        #expect(GraphicsChoice("png") == nil)
    }
}
