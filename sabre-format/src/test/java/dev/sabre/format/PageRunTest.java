package dev.sabre.format;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class PageRunTest {
    @Test
    void addressOrderSortsMergesAndDropsRepeats() {
        List<PageRun> faultOrder = List.of(new PageRun(40, 2), new PageRun(7, 1), new PageRun(41, 3), new PageRun(5, 2),
                new PageRun(100, 0), new PageRun(8, 1), new PageRun(7, 1), new PageRun(60, 1));
        assertEquals(List.of(new PageRun(5, 4), new PageRun(40, 4), new PageRun(60, 1)), PageRun.inAddressOrder(faultOrder));
    }

    @Test
    void addressOrderOfNothingIsNothing() {
        assertEquals(List.of(), PageRun.inAddressOrder(List.of()));
        assertEquals(List.of(), PageRun.inAddressOrder(List.of(new PageRun(3, 0))));
    }
}
